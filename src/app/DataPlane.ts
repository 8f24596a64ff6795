import type { Logger } from "pino";
import type { ProxyMetrics } from "../admin/ProxyMetrics.ts";
import type { AggregateHost } from "../aggregate/AggregateHost.ts";
import type { Clock } from "../breaker/Clock.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { Config, ServerConfig } from "../config/Config.ts";
import { EdgeGuard } from "../edge/EdgeGuard.ts";
import { HostRule } from "../edge/HostRule.ts";
import { OriginRule } from "../edge/OriginRule.ts";
import { PublicUrls } from "../edge/PublicUrls.ts";
import type { HealthChecker } from "../health/HealthChecker.ts";
import { isLoopback } from "../http/listenAddress.ts";
import { McpCalls } from "../mcp/McpCalls.ts";
import { ToolCircuits } from "../mcp/ToolCircuits.ts";
import { BodyBudget } from "../proxy/BodyBudget.ts";
import type { Endpoint } from "../proxy/Endpoint.ts";
import type { ProxyServerOptions } from "../proxy/ProxyServer.ts";
import type { RequestTracing } from "../proxy/RequestTracing.ts";
import { RouteTable } from "../proxy/RouteTable.ts";
import { ServerPool } from "../proxy/ServerPool.ts";
import type { RunningUpstream, UpstreamPlan } from "../reload/upstreamPlan.ts";
import { SessionTokens } from "../sessions/SessionTokens.ts";
import type { Timers } from "../time/Timers.ts";
import type { ConnectionPools } from "../upstreams/http/ConnectionPools.ts";
import { sessionsOnly } from "../upstreams/stdio/sessionsOnly.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import { assembleUpstreams } from "./UpstreamAssembly.ts";

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
  /** The HTTP upstreams' connection pools, one per origin, shared across servers and reloads. */
  readonly connectionPools: ConnectionPools;
  /** The aggregate's long-lived parts: each plane with `[aggregate]` gets its endpoint from here. */
  readonly aggregate: AggregateHost;
  /** Traces of the requests (SPEC §9); undefined while telemetry is off. */
  readonly tracing: RequestTracing | undefined;
}

/** Everything one configuration runs on: its upstreams, what the proxy reads per request, its checks. */
export interface DataPlane {
  /** Every server's upstreams, in config order. */
  readonly upstreams: readonly Upstream[];
  /** The servers (SPEC §7.1) by name, in config order: what routes (and the aggregate) reach. */
  readonly pools: ReadonlyMap<string, ServerPool>;
  /** The servers as configured, for the next reload to compare with. */
  readonly servers: readonly ServerConfig[];
  readonly running: ReadonlyMap<string, RunningUpstream>;
  readonly proxy: ProxyServerOptions;
  readonly tools: ToolCircuits;
  readonly checkers: readonly HealthChecker[];
  /** The aggregate's endpoint (SPEC §7.2); undefined without `[aggregate]`. */
  readonly aggregate: Endpoint | undefined;
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
 * Makes the data plane of `config`: its upstreams (see `assembleUpstreams`), then one pool per server
 * and the route table over them. Nothing running is changed until `install` (so a config that cannot
 * be applied leaves the registry as it was); the caller then drains and closes what the plan leaves
 * behind.
 */
export function assembleDataPlane(
  config: Config,
  parts: DataPlaneParts,
  plan: UpstreamPlan | undefined,
  previous: DataPlane | undefined,
): AssembledPlane {
  const { circuits, clock } = parts;
  const made = assembleUpstreams(config, config.upstreams, parts, plan, previous?.tools);
  // config.upstreams holds every server's (SPEC §7.1: names unique across servers); servers group them by name
  const { upstreams, byName, judges, callRules, upstreamUrls } = made;
  const toolConfigs = new Map(config.upstreams.map((u) => [u.name, u.toolCircuit]));
  const tools = new ToolCircuits(circuits, toolConfigs, made.catalogs, clock);
  const keys = config.sessionKeys.length > 0 ? config.sessionKeys : [parts.fallbackSessionKey];
  // one set of tokens over every server's upstreams: one bounded cache; each pool opens only its own
  const sessions = new SessionTokens(upstreams, keys);
  const pools = new Map<string, ServerPool>();
  // the bytes held now are counted by the budget they were taken from: keep it while its limit holds
  const held = previous?.proxy.bodyBudget;
  const bodyBudget =
    held !== undefined && held.limit === config.maxBufferedBytes
      ? held
      : new BodyBudget(config.maxBufferedBytes);
  for (const server of config.servers) {
    const members = server.upstreams.map((u) => {
      const upstream = byName.get(u.name);
      if (upstream === undefined)
        throw new Error(`server ${server.name}: no upstream ${u.name} in the config`);
      return upstream;
    });
    const route = server.route ?? "/";
    pools.set(
      server.name,
      new ServerPool({
        name: server.name,
        route: server.route,
        upstreams: members,
        loadBalancing: config.loadBalancing,
        // a JSON-RPC call is judged by its answer, a tool call by its tool's circuit too (SPEC §3); the rest by status (§2)
        calls: new McpCalls({
          plainJudges: judges,
          rules: callRules,
          tools,
          readJsonRpc: config.readJsonRpc,
          sessionsOnly: sessionsOnly(members),
          allowsTool: server.allowsTool,
          // tools/list answers held for a filter count with request bodies: one bound for the listener
          listBudget: bodyBudget,
        }),
        publicUrls: new PublicUrls({ route, publicUrl: server.publicUrl, upstreamUrls }),
        sessions,
        allowsTool: server.allowsTool,
      }),
    );
  }
  const aggregate =
    config.aggregate === undefined
      ? undefined
      : parts.aggregate.endpoint(config.aggregate, pools, keys, bodyBudget);
  const proxy: ProxyServerOptions = {
    routes: new RouteTable([...pools.values()], aggregate === undefined ? [] : [aggregate]),
    edge: new EdgeGuard(
      new HostRule(config.allowedHosts),
      new OriginRule(config.allowedOrigins, {
        loopbackListener: isLoopback(config.listen.host),
        https: config.tls !== undefined,
      }),
    ),
    tls: config.tls,
    maxBodyBytes: config.maxBodyBytes,
    bodyBudget,
    requestTimeoutMs: config.requestTimeoutMs,
    answerLimits: { answerTimeoutMs: config.answerTimeoutMs, maxAnswerMs: config.maxAnswerMs },
    observer: parts.observer,
    onOverloaded: parts.onOverloaded,
    onInternalError: parts.onInternalError,
    onProxyResources: parts.onProxyResources,
    timers: parts.timers,
    // traces follow MCP's conventions: where the proxy reads no JSON-RPC, it neither traces nor changes a body
    tracing: config.readJsonRpc ? parts.tracing : undefined,
  };
  const install = () => {
    for (const [name, options] of made.forget) circuits.remove(name, options);
    for (const circuit of made.made) circuits.add(circuit);
  };
  const plane = {
    upstreams,
    pools,
    servers: config.servers,
    running: made.running,
    proxy,
    tools,
    checkers: made.checkers,
    aggregate,
  };
  return { plane, install };
}
