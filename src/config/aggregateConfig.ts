import { routeRemainder } from "../http/targetPath.ts";
import type { AggregateConfig } from "./Config.ts";
import { ConfigError } from "./ConfigError.ts";
import { closestName } from "./closestKey.ts";
import type { AggregateTable, ServerTable } from "./schema.ts";

/** `[aggregate]` with every default filled in and its servers named: what `breakwater check` prints. */
export type EffectiveAggregate = Omit<AggregateTable, "servers"> & {
  /** The servers it merges, in file order of `[[servers]]` (every server when the file names none). */
  servers: string[];
};

const names = (servers: readonly ServerTable[]) => servers.map((server) => server.name);

/**
 * The names of the servers `[aggregate]` merges (SPEC §7.2): those of `aggregate.servers`, each the
 * name of a server and named once; every server when it names none. The aggregate needs `[[servers]]`
 * (the old form's one server has no name to prefix its names with) and JSON-RPC read (it answers lists
 * itself and routes calls by name). `checkServers` takes these names: a server they hold needs no route.
 */
export function aggregateMembers(
  source: string,
  table: AggregateTable,
  servers: readonly ServerTable[] | undefined,
  readJsonRpc: boolean,
): Set<string> {
  if (servers === undefined) {
    throw new ConfigError(
      `${source}: aggregate: needs [[servers]]: the top-level [[upstreams]] are one server without a name; ` +
        "make them a [[servers]] table with a name and a route, its upstreams as [[servers.upstreams]]",
    );
  }
  if (!readJsonRpc) {
    throw new ConfigError(
      `${source}: aggregate: needs proxy.read_jsonrpc = true (the aggregate answers lists itself and routes calls by name)`,
    );
  }
  const known = names(servers);
  if (table.servers === undefined) return new Set(known);
  const members = new Map<string, number>();
  table.servers.forEach((name, i) => {
    if (!known.includes(name)) {
      const meant = closestName(name, known);
      throw new ConfigError(
        `${source}: aggregate.servers[${i}]: "${name}" is not the name of any [[servers]] table` +
          (meant === undefined ? "" : ` (did you mean "${meant}"?)`),
      );
    }
    const earlier = members.get(name);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${source}: aggregate.servers[${i}]: "${name}" is already aggregate.servers[${earlier}]`,
      );
    }
    members.set(name, i);
  });
  return new Set(members.keys());
}

/**
 * Checks what else spans `[aggregate]` and the servers, each problem naming its keys, and completes
 * it: its route overlaps no server's (a request must reach one of them), and the names of its
 * `members` are not read two ways once joined to their own names by the separator.
 */
export function completeAggregate(
  source: string,
  table: AggregateTable,
  servers: readonly ServerTable[],
  members: ReadonlySet<string>,
): EffectiveAggregate {
  servers.forEach((server, s) => {
    const route = server.route;
    if (route === undefined) return;
    if (
      routeRemainder(route, table.route) !== undefined ||
      routeRemainder(table.route, route) !== undefined
    ) {
      throw new ConfigError(
        `${source}: aggregate.route "${table.route}" overlaps servers[${s}].route "${route}": a request could ` +
          "reach either; give them routes apart (e.g. /mcp for the aggregate and /github/mcp for a server)",
      );
    }
  });
  checkSeparator(source, table.separator, servers, members);
  // in the order of the keys' documentation, which `check` prints
  return {
    route: table.route,
    servers: names(servers).filter((name) => members.has(name)),
    separator: table.separator,
    grace_secs: table.grace_secs,
    list_timeout_ms: table.list_timeout_ms,
  };
}

/**
 * Refuses server names an aggregate name could be split into two ways: with separator "-", server "a"
 * lists its tool "b-x" as "a-b-x", which server "a-b" would list for its "x". A name is split at the
 * first server whose name and separator begin it, so no two such beginnings may be one the other's
 * start. Pairs once per load (5,000 for 100 servers), nothing per request.
 */
function checkSeparator(
  source: string,
  separator: string,
  servers: readonly ServerTable[],
  members: ReadonlySet<string>,
): void {
  servers.forEach((later, j) => {
    if (!members.has(later.name)) return;
    for (let i = 0; i < j; i++) {
      const earlier = servers[i] as ServerTable;
      if (!members.has(earlier.name)) continue;
      const [a, b] = [earlier.name + separator, later.name + separator];
      const [short, long] = a.length <= b.length ? [a, b] : [b, a];
      if (!long.startsWith(short)) continue;
      throw new ConfigError(
        `${source}: servers[${j}].name "${later.name}" and servers[${i}].name "${earlier.name}": with ` +
          `aggregate.separator "${separator}", a name such as "${long}x" could be either server's; rename one, ` +
          'or choose another separator ("__", the default, is never read two ways)',
      );
    }
  });
}

/** The aggregate as the proxy runs it. */
export function aggregateConfig(effective: EffectiveAggregate): AggregateConfig {
  return {
    route: effective.route,
    servers: effective.servers,
    separator: effective.separator,
    graceMs: effective.grace_secs * 1000,
    listTimeoutMs: effective.list_timeout_ms,
  };
}
