import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { AdminServer } from "./admin/AdminServer.ts";
import { CircuitActivity } from "./admin/CircuitActivity.ts";
import { ProxyMetrics } from "./admin/ProxyMetrics.ts";
import { monotonicClock } from "./breaker/Clock.ts";
import type { Config, StdioConfig, UpstreamConfig } from "./config/Config.ts";
import { isLoopback } from "./config/listenAddress.ts";
import { EdgeGuard } from "./edge/EdgeGuard.ts";
import { HostRule } from "./edge/HostRule.ts";
import { OriginRule } from "./edge/OriginRule.ts";
import { PublicUrls } from "./edge/PublicUrls.ts";
import { SessionTokens } from "./fleet/SessionTokens.ts";
import { SharedCircuits } from "./fleet/SharedCircuits.ts";
import type { CircuitBreaker, Clock } from "./index.ts";
import { listen as listenOn } from "./listen.ts";
import { HealthChecker } from "./mcp/HealthChecker.ts";
import { type HealthCheck, healthCheckId, httpCheck, mcpCheck } from "./mcp/healthChecks.ts";
import type { JsonRpcRules } from "./mcp/JsonRpcJudge.ts";
import { JsonRpcJudge } from "./mcp/JsonRpcJudge.ts";
import { McpCalls } from "./mcp/McpCalls.ts";
import { ToolCircuits } from "./mcp/ToolCircuits.ts";
import { BodyBudget } from "./proxy/BodyBudget.ts";
import { type Circuit, CircuitRegistry } from "./proxy/CircuitRegistry.ts";
import type { ExchangeJudge } from "./proxy/ExchangeJudge.ts";
import { HttpUpstream } from "./proxy/HttpUpstream.ts";
import { ProxyServer } from "./proxy/ProxyServer.ts";
import { StatusJudge } from "./proxy/StatusJudge.ts";
import type { Upstream } from "./proxy/Upstream.ts";
import { UpstreamBalancer } from "./proxy/UpstreamBalancer.ts";
import { StderrLog } from "./stdio/StderrLog.ts";
import { StdioUpstream } from "./stdio/StdioUpstream.ts";

export interface BreakwaterOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** For the breakers and the session table; tests step it by hand. */
  readonly clock?: Clock;
}

/**
 * The whole proxy: its upstreams and their circuits, the data plane, the admin listener, metrics and
 * the audit log of every state change.
 */
export class Breakwater {
  readonly circuits: CircuitRegistry;
  /** Circuits shared with the fleet's other replicas; undefined without `fleet.redis_url`. */
  readonly fleet: SharedCircuits | undefined;
  readonly upstreams: readonly Upstream[];
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  readonly #logger: Logger;
  readonly #config: Config;
  readonly #activity: CircuitActivity;
  readonly #checkers: HealthChecker[] = [];

  constructor({ config, logger, clock }: BreakwaterOptions) {
    this.#logger = logger;
    this.#config = config;
    for (const u of config.upstreams) {
      if (u.url?.protocol === "https:" && u.tls.insecure) {
        logger.warn(
          { upstream: u.name, url: u.url.href },
          "tls_insecure_skip_verify: this upstream's certificate is not checked; anyone on the path can pose as it",
        );
      }
    }
    const fleet: SharedCircuits | undefined =
      config.fleet === undefined
        ? undefined
        : new SharedCircuits({
            redisUrl: config.fleet.redisUrl,
            name: config.fleet.name,
            logger,
            clock: clock ?? monotonicClock,
            circuitFor: (upstream, tool): Circuit | undefined =>
              tool === undefined ? this.circuits.get(upstream) : tools.circuitFor(upstream, tool),
          });
    this.fleet = fleet;
    const circuits: CircuitRegistry = new CircuitRegistry({ probeGate: fleet?.probeGate.bind(fleet) });
    this.circuits = circuits;
    // the audit trail: every state change of every circuit, once (SPEC §2, Logs)
    circuits.onCreated(({ upstream, tool, breaker }) => {
      breaker.onStateChange(({ from, to, reason, origin }) => {
        const entry = {
          upstream,
          ...(tool === undefined ? {} : { tool }),
          from,
          to,
          reason,
          ...(origin === undefined ? {} : { origin }),
        };
        if (to === "open" || to === "forced_open") logger.warn(entry, "circuit opened");
        else logger.info(entry, "circuit state changed");
      });
    });
    fleet?.watch(circuits); // after the audit trail, so that a change is logged before it is told
    const metrics = new ProxyMetrics(circuits);
    const activity = new CircuitActivity(circuits);
    this.#activity = activity;
    const judges = new Map<Upstream, ExchangeJudge>();
    const callRules = new Map<Upstream, JsonRpcRules>();
    const upstreamUrls = new Map<Upstream, URL>();
    const tools = new ToolCircuits(
      circuits,
      new Map(config.upstreams.map((u) => [u.name, u.toolCircuit])),
      clock,
    );
    this.upstreams = config.upstreams.map((u) => {
      const options = clock === undefined ? u.breaker : { ...u.breaker, clock };
      const circuit = circuits.create(u.name, options).breaker;
      const upstream =
        u.stdio === undefined
          ? new HttpUpstream(u, circuit, config.requestTimeoutMs)
          : stdioUpstream(u.name, u.stdio, circuit, logger, metrics);
      judges.set(upstream, new StatusJudge(u.isFailureStatus));
      callRules.set(upstream, { isFailureStatus: u.isFailureStatus, isFailureCode: config.isFailureCode });
      if (u.url !== undefined) upstreamUrls.set(upstream, u.url);
      const check =
        upstream instanceof HttpUpstream
          ? healthCheck(u, upstream, callRules.get(upstream) as JsonRpcRules)
          : undefined;
      if (check !== undefined) {
        this.#checkers.push(
          new HealthChecker({
            upstream: u.name,
            breaker: upstream.circuit,
            check,
            intervalMs: u.healthCheck.intervalMs,
            timeoutMs: u.healthCheck.timeoutMs,
            onResult: (name, result) => {
              metrics.healthCheck(name, result.healthy);
              if (!result.healthy)
                logger.warn({ upstream: name, problem: result.problem }, "health check failed");
            },
          }),
        );
      }
      return upstream;
    });
    metrics.watchProcesses(this.upstreams);
    if (fleet !== undefined) metrics.watchFleet(fleet.link);
    this.proxy = new ProxyServer({
      route: config.route,
      edge: new EdgeGuard(
        new HostRule(config.allowedHosts),
        new OriginRule(config.allowedOrigins, {
          loopbackListener: isLoopback(config.listen.host),
          https: config.tls !== undefined,
        }),
      ),
      tls: config.tls,
      publicUrls: new PublicUrls({ route: config.route, publicUrl: config.publicUrl, upstreamUrls }),
      maxBodyBytes: config.maxBodyBytes,
      bodyBudget: new BodyBudget(config.maxBufferedBytes),
      requestTimeoutMs: config.requestTimeoutMs,
      balancer: new UpstreamBalancer(this.upstreams, config.loadBalancing),
      sessions: new SessionTokens(this.upstreams, config.sessionKeys),
      answerLimits: { answerTimeoutMs: config.answerTimeoutMs, maxAnswerMs: config.maxAnswerMs },
      // a JSON-RPC call is judged by its answer, a tool call by its tool's circuit too (SPEC §3); the rest by status (§2)
      calls: new McpCalls({
        plainJudges: judges,
        rules: callRules,
        tools,
        readJsonRpc: config.readJsonRpc,
        sessionsOnly: sessionsOnly(this.upstreams),
      }),
      observer: {
        head: (report) => metrics.head(report),
        settled: (report) => {
          metrics.settled(report);
          activity.settled(report);
          if (report.problem !== undefined) {
            logger.warn(
              { upstream: report.upstream.name, problem: report.problem },
              "broken upstream response",
            );
          }
        },
      },
      onOverloaded: (upstream) => metrics.overloaded(upstream.name),
      onInternalError: (error) => logger.error({ err: error }, "request failed inside the proxy"),
    });
    this.admin = new AdminServer({
      upstreams: this.upstreams,
      circuits,
      metrics,
      activity,
      token: config.adminToken,
      hosts: new HostRule(config.adminAllowedHosts),
      tls: config.adminTls ? config.tls : undefined,
      toolCircuit: (upstream, tool) => tools.circuitFor(upstream, tool),
      fleet: fleet?.link,
      onControl: (upstream, action, tool) =>
        logger.info({ upstream, ...(tool === undefined ? {} : { tool }), action }, "manual circuit control"),
    });
  }

  /** Starts both listeners. Rejects (with the listen error) if either cannot listen. */
  async start(): Promise<{ proxy: AddressInfo; admin: AddressInfo }> {
    const { listen, adminListen } = this.#config;
    const proxy = await listenOn(this.proxy.server, listen.port, listen.host);
    let admin: AddressInfo;
    try {
      admin = await listenOn(this.admin.server, adminListen.port, adminListen.host);
    } catch (error) {
      this.proxy.server.close();
      throw error;
    }
    this.#activity.start();
    this.fleet?.start();
    for (const checker of this.#checkers) checker.start();
    return { proxy, admin };
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs` (their responses say
   * `Connection: close`, and each connection closes as its response ends), then cuts what is left and
   * closes the upstreams.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.#activity.stop();
    for (const checker of this.#checkers) checker.stop();
    const servers = [this.proxy.server, this.admin.server].filter((s) => s.listening);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.proxy.drain();
    this.admin.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), graceMs);
    });
    if ((await Promise.race([closed, expired])) === "expired") {
      this.#logger.warn({ graceMs }, "grace period over: closing the connections still open");
      for (const s of servers) s.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
    await Promise.all([...this.upstreams.map((u) => u.close()), this.fleet?.close()]);
  }
}

/**
 * The upstreams that serve sessions only (stdio ones), for sessionless calls to go around — unless
 * every upstream is one, when such a call gets its 400 from the upstream (SPEC §5).
 */
function sessionsOnly(upstreams: readonly Upstream[]): ReadonlySet<Upstream> {
  const stdio = upstreams.filter((u) => u instanceof StdioUpstream);
  return new Set(stdio.length < upstreams.length ? stdio : []);
}

/** A stdio upstream (SPEC §5), its children's stderr in the log. */
function stdioUpstream(
  name: string,
  config: StdioConfig,
  circuit: CircuitBreaker,
  logger: Logger,
  metrics: ProxyMetrics,
): StdioUpstream {
  const stderr = new StderrLog(logger, name);
  return new StdioUpstream({
    name,
    circuit,
    config,
    onStderrLine: (pid, line) => stderr.line(pid, line),
    onExit: (upstream, reason) => metrics.stdioExit(upstream, reason),
  });
}

/** The health check an upstream's config asks for (SPEC §3.3), over its own connections; none for "none". */
function healthCheck(
  config: UpstreamConfig,
  upstream: HttpUpstream,
  rules: JsonRpcRules,
): HealthCheck | undefined {
  const { kind, path } = config.healthCheck;
  const url = config.url;
  if (url === undefined) return undefined;
  if (kind === "http") return httpCheck(upstream.dispatcher, new URL(path, url.origin));
  if (kind === "mcp") {
    const call = { ids: [healthCheckId], progressTokens: new Set<string>(), tool: undefined };
    return mcpCheck(upstream.dispatcher, url, () => new JsonRpcJudge(call, rules));
  }
  return undefined;
}
