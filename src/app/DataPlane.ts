import type { Logger } from "pino";
import type { ProxyMetrics } from "../admin/ProxyMetrics.ts";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { Clock } from "../breaker/Clock.ts";
import type { Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { Config, StdioConfig } from "../config/Config.ts";
import { EdgeGuard } from "../edge/EdgeGuard.ts";
import { HostRule } from "../edge/HostRule.ts";
import { OriginRule } from "../edge/OriginRule.ts";
import { PublicUrls } from "../edge/PublicUrls.ts";
import { HealthChecker } from "../health/HealthChecker.ts";
import { isLoopback } from "../http/listenAddress.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import { JsonRpcJudge, type JsonRpcRules } from "../judges/JsonRpcJudge.ts";
import { StatusJudge } from "../judges/StatusJudge.ts";
import { McpCalls } from "../mcp/McpCalls.ts";
import { ToolCatalog } from "../mcp/ToolCatalog.ts";
import { ToolCircuits } from "../mcp/ToolCircuits.ts";
import { BodyBudget } from "../proxy/BodyBudget.ts";
import type { ProxyServerOptions } from "../proxy/ProxyServer.ts";
import { UpstreamBalancer } from "../proxy/UpstreamBalancer.ts";
import { type RunningUpstream, sameToolCircuits, type UpstreamPlan } from "../reload/upstreamPlan.ts";
import { SessionTokens } from "../sessions/SessionTokens.ts";
import type { Timers } from "../time/Timers.ts";
import { HttpUpstream } from "../upstreams/http/HttpUpstream.ts";
import { healthCheckCall } from "../upstreams/http/healthChecks.ts";
import { StderrLog } from "../upstreams/stdio/StderrLog.ts";
import { StdioUpstream } from "../upstreams/stdio/StdioUpstream.ts";
import { sessionsOnly } from "../upstreams/stdio/sessionsOnly.ts";
import type { Upstream } from "../upstreams/Upstream.ts";

/** What outlives a configuration: the circuits, metrics, the log, and the proxy's own callbacks. */
export interface DataPlaneParts {
  readonly circuits: CircuitRegistry;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly clock: Clock | undefined;
  /** The clock and timers of deadlines and health-check intervals. */
  readonly timers: Timers;
  /** Seals session tokens when the config names no keys: one per process, kept across reloads. */
  readonly fallbackSessionKey: Buffer;
  readonly observer: ProxyServerOptions["observer"];
  readonly onOverloaded: (upstream: Upstream) => void;
  readonly onInternalError: (error: unknown) => void;
  readonly onProxyResources: (upstream: Upstream, code: string) => void;
  /** A circuit refused the proxy's own health check: kept out of clients' rejections. */
  readonly onHealthCheckRefused: (upstream: string) => void;
}

/** Everything one configuration runs on: its upstreams, what the proxy reads per request, its checks. */
export interface DataPlane {
  readonly upstreams: readonly Upstream[];
  readonly running: ReadonlyMap<string, RunningUpstream>;
  readonly proxy: ProxyServerOptions;
  readonly tools: ToolCircuits;
  readonly checkers: readonly HealthChecker[];
}

/** A data plane made and not yet in force: its circuits are not in the registry until `install`. */
export interface AssembledPlane {
  readonly plane: DataPlane;
  /**
   * Puts the plane's circuits in the registry and forgets those it lets go (their listeners undone):
   * the one step of a reload that changes what runs, made once everything that can fail was built.
   */
  readonly install: () => void;
}

/**
 * Makes the data plane of `config`: at start-up every upstream new; at a reload (SPEC §6.3) those
 * `plan` keeps are used as they are, and a rebuilt one takes over its predecessor's circuit when the
 * plan allows. Nothing running is changed until `install` (so a config that cannot be applied leaves
 * the registry as it was); the caller then drains and closes what the plan leaves behind.
 */
export function assembleDataPlane(
  config: Config,
  parts: DataPlaneParts,
  plan: UpstreamPlan | undefined,
  previous: DataPlane | undefined,
): AssembledPlane {
  const { circuits, logger, metrics, clock } = parts;
  /** Upstream names whose circuits (or only their tools', with `toolsOnly`) the registry forgets. */
  const forget = new Map<string, { toolsOnly: boolean }>();
  const made: Circuit[] = [];
  const judges = new Map<Upstream, ExchangeJudge>();
  const callRules = new Map<Upstream, JsonRpcRules>();
  const upstreamUrls = new Map<Upstream, URL>();
  const checkers: HealthChecker[] = [];
  const running = new Map<string, RunningUpstream>();
  for (const gone of plan?.removed ?? []) forget.set(gone.config.name, { toolsOnly: false });
  // what each upstream has shown of its tools, kept as long as its tool circuits are (SPEC §3.2)
  const catalogs = new Map<string, ToolCatalog>();
  const upstreams = config.upstreams.map((u) => {
    const fate = plan?.fates.get(u.name) ?? { kind: "added" };
    const keepsCircuit = fate.kind === "kept" || (fate.kind === "rebuilt" && fate.keepsCircuit);
    // tool circuits made with other options (or for another server) are made again on first use
    const keepsTools = fate.kind !== "added" && sameToolCircuits(fate.running.config, u);
    if (fate.kind !== "added" && !keepsTools) forget.set(u.name, { toolsOnly: keepsCircuit });
    const catalog = keepsTools ? previous?.tools.catalogOf(u.name) : undefined;
    catalogs.set(u.name, catalog ?? new ToolCatalog(u.toolCircuit.maxTools));
    let upstream: Upstream;
    if (fate.kind === "kept") {
      upstream = fate.running.upstream;
    } else {
      let circuit = fate.kind === "rebuilt" && fate.keepsCircuit ? fate.running.upstream.circuit : undefined;
      if (circuit === undefined) {
        const prepared = circuits.prepare(u.name, clock === undefined ? u.breaker : { ...u.breaker, clock });
        made.push(prepared);
        circuit = prepared.breaker;
      }
      upstream =
        u.stdio === undefined
          ? new HttpUpstream(u, circuit, config.requestTimeoutMs)
          : stdioUpstream(u.name, u.stdio, circuit, logger, metrics);
    }
    running.set(u.name, { config: u, requestTimeoutMs: config.requestTimeoutMs, upstream });
    judges.set(upstream, new StatusJudge(u.isFailureStatus));
    const rules = { isFailureStatus: u.isFailureStatus, isFailureCode: config.isFailureCode };
    callRules.set(upstream, rules);
    if (u.url !== undefined) upstreamUrls.set(upstream, u.url);
    const check = upstream.healthCheck(() => new JsonRpcJudge(healthCheckCall, rules));
    if (check !== undefined) {
      checkers.push(
        new HealthChecker({
          upstream: u.name,
          breaker: upstream.circuit,
          check,
          intervalMs: u.healthCheck.intervalMs,
          timeoutMs: u.healthCheck.timeoutMs,
          timers: parts.timers,
          onRefused: parts.onHealthCheckRefused,
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
  const toolConfigs = new Map(config.upstreams.map((u) => [u.name, u.toolCircuit]));
  const tools = new ToolCircuits(circuits, toolConfigs, catalogs, clock);
  const keys = config.sessionKeys.length > 0 ? config.sessionKeys : [parts.fallbackSessionKey];
  const budget = previous?.proxy.bodyBudget;
  const proxy: ProxyServerOptions = {
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
    // the bytes held now are counted by the budget they were taken from: keep it while its limit holds
    bodyBudget:
      budget !== undefined && budget.limit === config.maxBufferedBytes
        ? budget
        : new BodyBudget(config.maxBufferedBytes),
    requestTimeoutMs: config.requestTimeoutMs,
    balancer: new UpstreamBalancer(upstreams, config.loadBalancing),
    sessions: new SessionTokens(upstreams, keys),
    answerLimits: { answerTimeoutMs: config.answerTimeoutMs, maxAnswerMs: config.maxAnswerMs },
    // a JSON-RPC call is judged by its answer, a tool call by its tool's circuit too (SPEC §3); the rest by status (§2)
    calls: new McpCalls({
      plainJudges: judges,
      rules: callRules,
      tools,
      readJsonRpc: config.readJsonRpc,
      sessionsOnly: sessionsOnly(upstreams),
    }),
    observer: parts.observer,
    onOverloaded: parts.onOverloaded,
    onInternalError: parts.onInternalError,
    onProxyResources: parts.onProxyResources,
    timers: parts.timers,
  };
  const install = () => {
    for (const [name, options] of forget) circuits.remove(name, options);
    for (const circuit of made) circuits.add(circuit);
  };
  return { plane: { upstreams, running, proxy, tools, checkers }, install };
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
    onFault: (pid, fault) => logger.warn({ upstream: name, pid, fault }, "stdio process ended: fault"),
    onExit: (upstream, reason) => metrics.stdioExit(upstream, reason),
    log: logger,
  });
}
