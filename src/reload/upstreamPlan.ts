import type { UpstreamConfig } from "../config/Config.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { ServerChanges } from "./serverPlan.ts";

/** What a reload did to the upstreams, by name (SPEC §6.3), and to the servers they make up (§7.1). */
export interface UpstreamChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Made anew (connections or processes changed); `circuitKept` says whether its circuit went on. */
  readonly rebuilt: readonly { readonly name: string; readonly circuitKept: boolean }[];
  readonly kept: readonly string[];
  /** The servers added, removed, or changed (route, tools filter, upstreams), by name. */
  readonly servers: ServerChanges;
}

/** An upstream as it runs: the config it was made from, and the object the proxy sends requests to. */
export interface RunningUpstream {
  readonly config: UpstreamConfig;
  /** The config's `request_timeout_ms`, which an HTTP upstream's connections were made with. */
  readonly requestTimeoutMs: number;
  readonly upstream: Upstream;
}

/** What a reload does with one upstream of the new config (SPEC §6.3). */
export type UpstreamFate =
  /** Nothing about it changed: the same object, its connections (or processes) and circuit go on. */
  | { readonly kind: "kept"; readonly running: RunningUpstream }
  /**
   * Made anew (its connections or processes changed: TLS, limits, the environment…), the old one drained.
   * With the same URL/command and breaker options it takes over the old circuit, state and counters.
   */
  | { readonly kind: "rebuilt"; readonly running: RunningUpstream; readonly keepsCircuit: boolean }
  | { readonly kind: "added" };

export interface UpstreamPlan {
  /** By name, in the new config's order. */
  readonly fates: ReadonlyMap<string, UpstreamFate>;
  /** Upstreams the new config no longer has: drained, then closed. */
  readonly removed: readonly RunningUpstream[];
}

/** Which running upstreams a new config keeps, makes anew or adds, and which it removes. */
export function planUpstreams(
  running: ReadonlyMap<string, RunningUpstream>,
  next: readonly UpstreamConfig[],
  requestTimeoutMs: number,
): UpstreamPlan {
  const fates = new Map<string, UpstreamFate>();
  for (const config of next) {
    const now = running.get(config.name);
    if (now === undefined) fates.set(config.name, { kind: "added" });
    else if (sameTransport(now, config, requestTimeoutMs) && sameCircuit(now.config, config))
      fates.set(config.name, { kind: "kept", running: now });
    else
      fates.set(config.name, {
        kind: "rebuilt",
        running: now,
        keepsCircuit: sameCircuit(now.config, config),
      });
  }
  const removed = [...running.values()].filter((r) => !fates.has(r.config.name));
  return { fates, removed };
}

/** Whether a circuit made for `a` is the one `b` asks for: same URL or command, same breaker options. */
export function sameCircuit(a: UpstreamConfig, b: UpstreamConfig): boolean {
  return (
    a.url?.href === b.url?.href &&
    JSON.stringify(a.stdio?.command) === JSON.stringify(b.stdio?.command) &&
    JSON.stringify(a.breaker) === JSON.stringify(b.breaker)
  );
}

/** Whether the tool circuits made for `a` are those `b` asks for. */
export function sameToolCircuits(a: UpstreamConfig, b: UpstreamConfig): boolean {
  return sameCircuit(a, b) && JSON.stringify(a.toolCircuit) === JSON.stringify(b.toolCircuit);
}

/** Whether `b` would be reached over the very connections (or processes) `running` has. */
function sameTransport(running: RunningUpstream, b: UpstreamConfig, requestTimeoutMs: number): boolean {
  const a = running.config;
  return (
    running.requestTimeoutMs === requestTimeoutMs &&
    a.maxInFlight === b.maxInFlight &&
    JSON.stringify([a.url?.href, a.stdio, a.tls]) === JSON.stringify([b.url?.href, b.stdio, b.tls])
  );
}
