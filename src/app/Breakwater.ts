import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { AdminServer } from "../admin/AdminServer.ts";
import { CircuitActivity } from "../admin/CircuitActivity.ts";
import { ProxyMetrics } from "../admin/ProxyMetrics.ts";
import { AggregateHost } from "../aggregate/AggregateHost.ts";
import type { Clock } from "../breaker/Clock.ts";
import { monotonicClock } from "../breaker/Clock.ts";
import { type Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { Config } from "../config/Config.ts";
import { HostRule } from "../edge/HostRule.ts";
import { SharedCircuits } from "../fleet/SharedCircuits.ts";
import { checkCertificate, replaceCertificate } from "../http/httpListener.ts";
import { listen as listenOn } from "../http/listen.ts";
import { ProxyServer, type ProxyServerOptions } from "../proxy/ProxyServer.ts";
import { closeWhenIdle } from "../reload/closeWhenIdle.ts";
import { ReloadRefused } from "../reload/ReloadRefused.ts";
import { planServers } from "../reload/serverPlan.ts";
import { planUpstreams, type UpstreamChanges } from "../reload/upstreamPlan.ts";
import type { Telemetry } from "../telemetry/Telemetry.ts";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";
import { ConnectionPools } from "../upstreams/http/ConnectionPools.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import { CircuitAuditTrail } from "./CircuitAuditTrail.ts";
import { assembleDataPlane, type DataPlane } from "./DataPlane.ts";
import { FailureLog } from "./FailureLog.ts";

/** The most a stop waits for the last spans to reach the collector. */
const telemetryStopMs = 5_000;

export interface BreakwaterOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** For the breakers and the session table; tests step it by hand. */
  readonly clock?: Clock;
  /**
   * The clock and timers of every wait outside the breakers: request and answer deadlines, health-check
   * intervals, draining, the grace period. Default the system's; tests step their own.
   */
  readonly timers?: Timers;
  /** Traces and MCP metrics (SPEC §9), started by the caller (see `loadTelemetry`); undefined: off. */
  readonly telemetry?: Telemetry | undefined;
}

/**
 * The whole proxy: its upstreams and their circuits, the data plane, the admin listener, metrics and
 * the audit log of every state change. The listeners, circuits, metrics and the fleet's link outlive a
 * configuration; the data plane is made from one, and made again by `reload` (SPEC §6.3).
 */
export class Breakwater {
  readonly circuits: CircuitRegistry;
  /** Circuits shared with the fleet's other replicas; undefined without `fleet.redis_url`. */
  readonly fleet: SharedCircuits | undefined;
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  readonly #logger: Logger;
  readonly #config: Config;
  readonly #activity: CircuitActivity;
  readonly #parts: Parameters<typeof assembleDataPlane>[1];
  #plane: DataPlane;
  /** Removed or replaced upstreams still finishing their requests. */
  readonly #draining = new Set<Upstream>();
  #started = false;
  /** `close` has begun: nothing may start again (a reload would restart checks against closed pools). */
  #closing = false;
  readonly #timers: Timers;
  readonly #failures: FailureLog;
  /** The aggregate's parts that outlive a configuration (SPEC §7.2). */
  readonly #aggregate: AggregateHost;
  readonly #telemetry: Telemetry | undefined;

  constructor({ config, logger, clock, timers = systemTimers, telemetry }: BreakwaterOptions) {
    this.#logger = logger;
    logger.level = config.logLevel;
    this.#timers = timers;
    this.#config = config;
    warnInsecure(config, logger);
    const fleet: SharedCircuits | undefined =
      config.fleet === undefined
        ? undefined
        : new SharedCircuits({
            redisUrl: config.fleet.redisUrl,
            name: config.fleet.name,
            sessionKeys: config.sessionKeys,
            logger,
            clock: clock ?? monotonicClock,
            circuitFor: (upstream, tool): Circuit | undefined =>
              tool === undefined ? this.circuits.get(upstream) : this.#plane.tools.circuitFor(upstream, tool),
          });
    this.fleet = fleet;
    const circuits: CircuitRegistry = new CircuitRegistry({ probeGate: fleet?.probeGate.bind(fleet) });
    this.circuits = circuits;
    // the audit trail: every state change of every circuit, once (SPEC §2, Logs)
    const audit = new CircuitAuditTrail(circuits, logger);
    const failures = new FailureLog({ logger, timers });
    this.#failures = failures;
    fleet?.watch(circuits); // after the audit trail, so that a change is logged before it is told
    const metrics = new ProxyMetrics(circuits);
    this.#telemetry = telemetry;
    telemetry?.showOn(metrics.registry);
    const activity = new CircuitActivity(circuits, { timers });
    this.#activity = activity;
    const observer: ProxyServerOptions["observer"] = {
      head: (report) => metrics.head(report),
      settled: (report) => {
        metrics.settled(report);
        activity.settled(report);
      },
      charged: (report) => {
        audit.charged(report);
        failures.charged(report);
      },
    };
    const onOverloaded = (upstream: Upstream) => metrics.overloaded(upstream.name);
    this.#aggregate = new AggregateHost({
      circuits,
      timers,
      logger,
      observer,
      onOverloaded,
      // MCP tells templates' changes as resources' (notifications/resources/list_changed)
      onListChanged: (kind) =>
        metrics.aggregateListChanged(kind === "resourceTemplates" ? "resources" : kind),
    });
    this.#parts = {
      circuits,
      metrics,
      logger,
      clock,
      timers,
      fallbackSessionKey: randomBytes(32),
      connectionPools: new ConnectionPools(),
      aggregate: this.#aggregate,
      tracing: telemetry?.tracing,
      observer,
      onOverloaded,
      onInternalError: (error) => logger.error({ err: error }, "request failed inside the proxy"),
      onHealthCheckRefused: (upstream) => {
        metrics.healthCheckRefused(upstream);
        activity.healthCheckRefused(upstream);
      },
      onProxyResources: (upstream, code) =>
        logger.warn(
          { upstream: upstream.name, code },
          "the proxy is out of resources: request answered 503, the upstream's circuit unchanged",
        ),
    };
    const assembled = assembleDataPlane(config, this.#parts, undefined, undefined);
    assembled.install();
    this.#plane = assembled.plane;
    this.#aggregate.install(config.aggregate, this.#plane.pools, this.#plane.aggregate);
    metrics.watchProcesses(() => this.upstreams);
    if (fleet !== undefined) metrics.watchFleet(fleet.link);
    this.proxy = new ProxyServer(this.#plane.proxy);
    this.admin = new AdminServer({
      upstreams: () => this.upstreams,
      servers: () => [...this.#plane.pools.values()],
      aggregate: () => this.#aggregate.view(),
      circuits,
      metrics,
      activity,
      token: config.adminToken,
      hosts: new HostRule(config.adminAllowedHosts),
      tls: config.adminTls ? config.tls : undefined,
      toolCircuit: (upstream, tool) => this.#plane.tools.forOperator(upstream, tool),
      fleet: fleet?.link,
      onControl: (upstream, action, tool) =>
        logger.info({ upstream, ...(tool === undefined ? {} : { tool }), action }, "manual circuit control"),
    });
  }

  /** The upstreams requests go to now. */
  get upstreams(): readonly Upstream[] {
    return this.#plane.upstreams;
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
    this.#started = true;
    this.#activity.start();
    this.fleet?.start();
    for (const checker of this.#plane.checkers) checker.start();
    return { proxy, admin };
  }

  /**
   * Applies a new configuration without dropping a connection (SPEC §6.3): new upstreams are added;
   * removed ones take no new requests and are closed once their requests end; an upstream whose
   * URL/command and breaker options are unchanged keeps its circuit (and, when nothing else about it
   * changed, its connections or processes); the listener's certificate is replaced. What needs a
   * restart (listen addresses, TLS on or off, the fleet's Redis) is the caller's to tell and is not
   * applied here.
   *
   * Everything new is built before anything running is changed, then swapped in at once: a config that
   * cannot be applied (it throws) leaves the circuits, upstreams and listeners exactly as they were.
   *
   * @throws {ReloadRefused} once `close` has begun: nothing is changed.
   */
  reload(config: Config): UpstreamChanges {
    if (this.#closing) throw new ReloadRefused("the proxy is shutting down");
    const before = this.#plane;
    const plan = planUpstreams(before.running, config.upstreams, config.requestTimeoutMs);
    // built: may throw, changes nothing
    const { plane: next, install } = assembleDataPlane(config, this.#parts, plan, before);
    const tls = this.#config.tls === undefined ? undefined : config.tls;
    if (tls !== undefined) checkCertificate(tls);
    const adminHosts = new HostRule(config.adminAllowedHosts);
    // swapped in: nothing below fails on what was built and checked above
    install();
    this.proxy.reconfigure({ ...next.proxy, tls });
    this.#aggregate.install(config.aggregate, next.pools, next.aggregate);
    this.admin.reconfigure({ token: config.adminToken, hosts: adminHosts });
    if (this.#config.adminTls && tls !== undefined) replaceCertificate(this.admin.server, tls);
    this.#plane = next;
    this.#logger.level = config.logLevel;
    warnInsecure(config, this.#logger);
    for (const checker of before.checkers) checker.stop();
    if (this.#started) for (const checker of next.checkers) checker.start();
    const current = new Set(next.upstreams);
    const maxDrainMs = Math.max(config.requestTimeoutMs, config.maxAnswerMs);
    for (const old of before.upstreams) {
      if (current.has(old)) continue;
      this.#draining.add(old);
      void closeWhenIdle(old, maxDrainMs, this.#timers).finally(() => this.#draining.delete(old));
    }
    const changes: UpstreamChanges = {
      added: [...plan.fates].filter(([, f]) => f.kind === "added").map(([name]) => name),
      removed: plan.removed.map((r) => r.config.name),
      rebuilt: [...plan.fates].flatMap(([name, f]) =>
        f.kind === "rebuilt" ? [{ name, circuitKept: f.keepsCircuit }] : [],
      ),
      kept: [...plan.fates].filter(([, f]) => f.kind === "kept").map(([name]) => name),
      servers: planServers(before.servers, next.servers),
    };
    return changes;
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs` (their responses say
   * `Connection: close`, and each connection closes as its response ends), then cuts what is left and
   * closes the upstreams.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.#closing = true;
    this.#activity.stop();
    for (const checker of this.#plane.checkers) checker.stop();
    const servers = [this.proxy.server, this.admin.server].filter((s) => s.listening);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.proxy.drain();
    // clients' change streams end now (they would hold the listener open for the whole grace)
    this.#aggregate.close();
    this.admin.server.closeIdleConnections();
    let timer: Timer | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = this.#timers.setTimeout(() => resolve("expired"), graceMs);
    });
    if ((await Promise.race([closed, expired])) === "expired") {
      this.#logger.warn({ graceMs }, "grace period over: closing the connections still open");
      for (const s of servers) s.closeAllConnections();
      await closed;
    }
    this.#timers.clearTimeout(timer);
    const upstreams = [...this.upstreams, ...this.#draining];
    await Promise.all([...upstreams.map((u) => u.close()), this.fleet?.close()]);
    this.#failures.close();
    await this.#stopTelemetry();
  }

  /** Exports what is queued, for at most `telemetryStopMs`: a collector that hangs does not hold the exit. */
  async #stopTelemetry(): Promise<void> {
    const telemetry = this.#telemetry;
    if (telemetry === undefined) return;
    let timer: Timer | undefined;
    const late = new Promise<void>((resolve) => {
      timer = this.#timers.setTimeout(resolve, telemetryStopMs);
    });
    await Promise.race([telemetry.shutdown(), late]);
    this.#timers.clearTimeout(timer);
  }
}

/** Says, for each upstream whose certificate is not checked, that anyone on the path can pose as it. */
function warnInsecure(config: Config, logger: Logger): void {
  for (const u of config.upstreams) {
    if (u.url?.protocol === "https:" && u.tls.insecure) {
      logger.warn(
        { upstream: u.name, url: u.url.href },
        "tls_insecure_skip_verify: this upstream's certificate is not checked; anyone on the path can pose as it",
      );
    }
  }
}
