import { aggregateMembers, completeAggregate, type EffectiveAggregate } from "./aggregateConfig.ts";
import {
  breakerDefaults,
  type EffectiveBreakerSection,
  type EffectiveHealthCheckSection,
  type EffectiveToolCircuitSection,
  healthCheckDefaults,
  toolCircuitDefaults,
} from "./breakerDefaults.ts";
import { ConfigError } from "./ConfigError.ts";
import type { ConfigFile, ServerTable, ToolCircuitSection, UpstreamTable } from "./schema.ts";
import { checkServers } from "./serverConfig.ts";
import type { EffectiveTelemetry } from "./telemetryConfig.ts";

/** One upstream's table with every default filled in. */
export type EffectiveUpstream = Omit<
  UpstreamTable,
  "name" | "circuit_breaker" | "tool_circuit" | "health_check"
> & {
  name: string;
  circuit_breaker: EffectiveBreakerSection;
  tool_circuit: EffectiveToolCircuitSection;
  health_check: EffectiveHealthCheckSection;
};

/** One `[[servers]]` table: its sections merged over `[proxy.*]`, its upstreams completed. */
export type EffectiveServer = Omit<ServerTable, "circuit_breaker" | "health_check" | "upstreams"> & {
  circuit_breaker: EffectiveBreakerSection;
  health_check: EffectiveHealthCheckSection;
  upstreams: EffectiveUpstream[];
};

/**
 * The validated file with every default filled in: what `breakwater check` prints. The old form has
 * its `upstreams` (and `server.route`, "/" by default) and no `servers`; the servers form (SPEC §7.1)
 * has `servers` and no upstreams of its own.
 */
export type EffectiveConfig = Omit<
  ConfigFile,
  "upstreams" | "proxy" | "servers" | "aggregate" | "telemetry"
> & {
  proxy: Omit<ConfigFile["proxy"], "circuit_breaker" | "health_check"> & {
    circuit_breaker: EffectiveBreakerSection;
    health_check: EffectiveHealthCheckSection;
  };
  upstreams: EffectiveUpstream[];
  servers?: EffectiveServer[];
  /** `[aggregate]` (SPEC §7.2), only with `servers`; absent: no aggregate. */
  aggregate?: EffectiveAggregate;
  /** `[telemetry]` resolved with the `OTEL_*` variables (SPEC §9); absent: off, and nothing asked for it. */
  telemetry?: EffectiveTelemetry;
};

/** What an upstream's own sections are merged over: `[proxy.*]`, and in a server its sections over those. */
interface UpstreamBase {
  readonly breaker: EffectiveBreakerSection;
  /** The tool-circuit keys set above the upstream (defaults not yet applied). */
  readonly toolCircuit: Partial<ToolCircuitSection>;
  readonly healthCheck: EffectiveHealthCheckSection;
}

/**
 * Merges the sections (upstream over server over proxy over defaults), names upstreams, checks what
 * spans keys: one form or the other, names unique across servers, routes (see {@link checkServers}),
 * the aggregate's servers, route and separator (see {@link completeAggregate}). `telemetry`, resolved
 * with the environment (see `resolveTelemetry`), is shown after `[fleet]`.
 */
export function complete(file: ConfigFile, source: string, telemetry?: EffectiveTelemetry): EffectiveConfig {
  const shared = { ...breakerDefaults, ...defined(file.proxy.circuit_breaker) } as EffectiveBreakerSection;
  checkBreaker(shared, `${source}: proxy.circuit_breaker`);
  const sharedCheck = {
    ...healthCheckDefaults,
    ...defined(file.proxy.health_check),
  } as EffectiveHealthCheckSection;
  const proxy = { ...file.proxy, circuit_breaker: shared, health_check: sharedCheck };
  const base: UpstreamBase = {
    breaker: shared,
    toolCircuit: defined(file.proxy.tool_circuit),
    healthCheck: sharedCheck,
  };
  const {
    servers: tables,
    aggregate: aggregateTable,
    telemetry: _resolvedApart,
    upstreams: _,
    ...rest
  } = file;
  const settings = { ...rest, ...(telemetry === undefined ? {} : { telemetry }) };
  const members =
    aggregateTable === undefined
      ? undefined
      : aggregateMembers(source, aggregateTable, tables, file.proxy.read_jsonrpc);
  // where each upstream name was first used: names circuits, so unique across all servers (SPEC §7.1)
  const names = new Map<string, string>();
  if (tables === undefined) {
    if (file.upstreams.length === 0) {
      throw new ConfigError(
        `${source}: no upstreams: add an [[upstreams]] table with a url (or a command), or pass --upstream URL ` +
          "(or [[servers]], --server NAME=URL, for several servers)",
      );
    }
    const upstreams = completeUpstreams(source, file.upstreams, base, names, (i) => `upstreams[${i}]`);
    return { ...settings, server: { ...file.server, route: file.server.route ?? "/" }, proxy, upstreams };
  }
  if (file.upstreams.length > 0) {
    throw new ConfigError(
      `${source}: upstreams and servers: use one form, top-level [[upstreams]] (the replicas of one server) ` +
        "or [[servers]] (each with its [[servers.upstreams]])",
    );
  }
  if (file.server.route !== undefined) {
    throw new ConfigError(
      `${source}: server.route: not used with [[servers]]; give each server its route (servers[i].route)`,
    );
  }
  checkServers(source, tables, file.proxy.read_jsonrpc, members);
  const aggregate =
    aggregateTable === undefined || members === undefined
      ? undefined
      : completeAggregate(source, aggregateTable, tables, members);
  const servers = tables.map((table, s): EffectiveServer => {
    const at = `servers[${s}]`;
    if (table.upstreams.length === 0) {
      throw new ConfigError(
        `${source}: ${at}.upstreams: none: add a [[servers.upstreams]] table with a url (or a command)`,
      );
    }
    const circuit_breaker = { ...shared, ...defined(table.circuit_breaker) } as EffectiveBreakerSection;
    checkBreaker(circuit_breaker, `${source}: ${at}.circuit_breaker`);
    const health_check = { ...sharedCheck, ...defined(table.health_check) } as EffectiveHealthCheckSection;
    const over: UpstreamBase = {
      breaker: circuit_breaker,
      toolCircuit: { ...base.toolCircuit, ...defined(table.tool_circuit) },
      healthCheck: health_check,
    };
    const upstreams = completeUpstreams(
      source,
      table.upstreams,
      over,
      names,
      (i) => `${at}.upstreams[${i}]`,
      (i) => `${table.name}-${i + 1}`,
    );
    return { ...table, circuit_breaker, health_check, upstreams };
  });
  return { ...settings, proxy, upstreams: [], ...(aggregate === undefined ? {} : { aggregate }), servers };
}

/**
 * Completes the upstream tables of one server, `base` holding what is set above them. An unnamed
 * upstream is named `unnamed(i)`, else (the old form) by its URL or command; `names` holds the names
 * taken so far, with the key that took each.
 */
function completeUpstreams(
  source: string,
  tables: readonly UpstreamTable[],
  base: UpstreamBase,
  names: Map<string, string>,
  at: (index: number) => string,
  unnamed?: (index: number) => string,
): EffectiveUpstream[] {
  return tables.map((upstream, index) => {
    const where = at(index);
    if ((upstream.url === undefined) === (upstream.command === undefined)) {
      throw new ConfigError(
        `${source}: ${where}: give either url (an HTTP server) or command (a stdio server), ` +
          `${upstream.url === undefined ? "not neither" : "not both"}`,
      );
    }
    for (const key of ["cwd", "env", "max_processes", "idle_timeout_secs"] as const) {
      if (upstream.url !== undefined && upstream[key] !== undefined)
        throw new ConfigError(`${source}: ${where}.${key}: only for a command upstream`);
    }
    const name =
      upstream.name ?? unnamed?.(index) ?? upstream.url ?? (upstream.command as string[]).join(" ");
    const earlier = names.get(name);
    if (earlier !== undefined) {
      throw new ConfigError(`${source}: ${where}.name: "${name}" is already the name of ${earlier}`);
    }
    names.set(name, where);
    const circuit_breaker = {
      ...base.breaker,
      ...defined(upstream.circuit_breaker),
    } as EffectiveBreakerSection;
    checkBreaker(circuit_breaker, `${source}: ${where}.circuit_breaker`);
    // a tool's circuit starts from its upstream's, then what the tool sections say (SPEC §3.2)
    const tool_circuit = {
      ...circuit_breaker,
      ...toolCircuitDefaults,
      ...base.toolCircuit,
      ...defined(upstream.tool_circuit),
    } as EffectiveToolCircuitSection;
    checkBreaker(tool_circuit, `${source}: ${where}.tool_circuit`);
    // a stdio upstream is checked by the processes its clients start: none of its own (README)
    const health_check = (
      upstream.command === undefined
        ? { ...base.healthCheck, ...defined(upstream.health_check) }
        : { ...base.healthCheck, kind: "none" }
    ) as EffectiveHealthCheckSection;
    return { ...upstream, name, circuit_breaker, tool_circuit, health_check };
  });
}

function checkBreaker(section: EffectiveBreakerSection, where: string): void {
  const max = section.max_timeout_duration_secs;
  if (max !== undefined && max < section.timeout_duration_secs) {
    throw new ConfigError(
      `${where}.max_timeout_duration_secs: ${max} is shorter than timeout_duration_secs (${section.timeout_duration_secs})`,
    );
  }
}

/** Drops keys whose value is undefined, so that spreading does not erase a default. */
function defined<T extends object>(section: T): Partial<T> {
  return Object.fromEntries(Object.entries(section).filter(([, v]) => v !== undefined)) as Partial<T>;
}
