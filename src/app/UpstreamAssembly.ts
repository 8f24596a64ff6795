import type { Logger } from "pino";
import type { ProxyMetrics } from "../admin/ProxyMetrics.ts";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { Circuit } from "../circuits/CircuitRegistry.ts";
import type { Config, StdioConfig, UpstreamConfig } from "../config/Config.ts";
import { HealthChecker } from "../health/HealthChecker.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import { JsonRpcJudge, type JsonRpcRules } from "../judges/JsonRpcJudge.ts";
import { StatusJudge } from "../judges/StatusJudge.ts";
import { ToolCatalog } from "../mcp/ToolCatalog.ts";
import type { ToolCircuits } from "../mcp/ToolCircuits.ts";
import { type RunningUpstream, sameToolCircuits, type UpstreamPlan } from "../reload/upstreamPlan.ts";
import { HttpUpstream } from "../upstreams/http/HttpUpstream.ts";
import { healthCheckCall } from "../upstreams/http/healthChecks.ts";
import { StderrLog } from "../upstreams/stdio/StderrLog.ts";
import { StdioUpstream } from "../upstreams/stdio/StdioUpstream.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { DataPlaneParts } from "./DataPlane.ts";

/** Every upstream of a configuration, made or kept, with what each server's pool and calls read of them. */
export interface UpstreamAssembly {
  /** In config order (every server's, server after server). */
  readonly upstreams: readonly Upstream[];
  readonly byName: ReadonlyMap<string, Upstream>;
  readonly running: ReadonlyMap<string, RunningUpstream>;
  /** How anything but a JSON-RPC call is judged at each upstream (SPEC §2: by its status). */
  readonly judges: ReadonlyMap<Upstream, ExchangeJudge>;
  /** What fails a JSON-RPC call at each upstream. */
  readonly callRules: ReadonlyMap<Upstream, JsonRpcRules>;
  /** The URLs of HTTP upstreams, made public in their answers (SPEC §4.2). */
  readonly upstreamUrls: ReadonlyMap<Upstream, URL>;
  readonly checkers: readonly HealthChecker[];
  /** What each upstream has shown of its tools, kept as long as its tool circuits are (SPEC §3.2). */
  readonly catalogs: ReadonlyMap<string, ToolCatalog>;
  /** Upstream names whose circuits (or only their tools', with `toolsOnly`) the registry forgets. */
  readonly forget: ReadonlyMap<string, { readonly toolsOnly: boolean }>;
  /** Circuits made, to be added to the registry when the plane is installed. */
  readonly made: readonly Circuit[];
}

/**
 * Makes the upstreams of `configs`: at start-up every one new; at a reload (SPEC §6.3) those `plan`
 * keeps are used as they are, and a rebuilt one takes over its predecessor's circuit when the plan allows.
 * Nothing running is changed: circuits are only prepared.
 */
export function assembleUpstreams(
  config: Config,
  configs: readonly UpstreamConfig[],
  parts: DataPlaneParts,
  plan: UpstreamPlan | undefined,
  previousTools: ToolCircuits | undefined,
): UpstreamAssembly {
  const { circuits, logger, metrics, clock } = parts;
  const forget = new Map<string, { toolsOnly: boolean }>();
  const made: Circuit[] = [];
  const judges = new Map<Upstream, ExchangeJudge>();
  const callRules = new Map<Upstream, JsonRpcRules>();
  const upstreamUrls = new Map<Upstream, URL>();
  const checkers: HealthChecker[] = [];
  const running = new Map<string, RunningUpstream>();
  const byName = new Map<string, Upstream>();
  for (const gone of plan?.removed ?? []) forget.set(gone.config.name, { toolsOnly: false });
  const catalogs = new Map<string, ToolCatalog>();
  const upstreams = configs.map((u) => {
    const fate = plan?.fates.get(u.name) ?? { kind: "added" };
    const keepsCircuit = fate.kind === "kept" || (fate.kind === "rebuilt" && fate.keepsCircuit);
    // tool circuits made with other options (or for another server) are made again on first use
    const keepsTools = fate.kind !== "added" && sameToolCircuits(fate.running.config, u);
    if (fate.kind !== "added" && !keepsTools) forget.set(u.name, { toolsOnly: keepsCircuit });
    const catalog = keepsTools ? previousTools?.catalogOf(u.name) : undefined;
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
          ? new HttpUpstream(u, circuit, config.requestTimeoutMs, { pools: parts.connectionPools })
          : stdioUpstream(u.name, u.stdio, circuit, logger, metrics);
    }
    running.set(u.name, { config: u, requestTimeoutMs: config.requestTimeoutMs, upstream });
    byName.set(u.name, upstream);
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
  return { upstreams, byName, running, judges, callRules, upstreamUrls, checkers, catalogs, forget, made };
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
