import { routeRemainder, targetPath } from "../http/targetPath.ts";
import type { ServerConfig, UpstreamConfig } from "./Config.ts";
import { ConfigError } from "./ConfigError.ts";
import type { EffectiveConfig, EffectiveUpstream } from "./completeConfig.ts";
import type { ServerTable } from "./schema.ts";
import { caFile } from "./tlsFiles.ts";
import { toolFilterMatcher } from "./toolGlobs.ts";
import { toUpstream } from "./upstreamConfig.ts";

/** The name of the one server of the old form (top-level `[[upstreams]]`). */
export const implicitServer = "default";

/**
 * What spans the `[[servers]]` tables (SPEC §7.1), each problem naming its keys: names unique, a route
 * for each server the aggregate does not reach (`inAggregate`: the names of those it does, undefined
 * without an aggregate; SPEC §7.2),
 * routes that do not overlap (a request must reach one server, whichever way the table is read), and a
 * `tools` filter only where JSON-RPC is read (the filter reads calls and tool lists).
 */
export function checkServers(
  source: string,
  tables: readonly ServerTable[],
  readJsonRpc: boolean,
  inAggregate?: ReadonlySet<string>,
): void {
  const names = new Map<string, number>();
  tables.forEach((table, s) => {
    const earlier = names.get(table.name);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${source}: servers[${s}].name: "${table.name}" is already the name of servers[${earlier}]`,
      );
    }
    names.set(table.name, s);
    if (table.route === undefined && !inAggregate?.has(table.name)) {
      // no client could reach it
      const aggregate =
        inAggregate === undefined ? "add an [aggregate] table" : "name it in aggregate.servers";
      throw new ConfigError(
        `${source}: servers[${s}].route: needed unless the server is in [aggregate] ` +
          `(e.g. route = "/${table.name}/mcp", or ${aggregate})`,
      );
    }
    if (table.tools !== undefined && !readJsonRpc) {
      throw new ConfigError(
        `${source}: servers[${s}].tools: needs proxy.read_jsonrpc = true (the filter reads the JSON-RPC calls and tool lists)`,
      );
    }
  });
  // pairs once per load: 5,000 for 100 servers, nothing per request
  tables.forEach((table, s) => {
    for (let t = 0; t < s; t++) {
      const [a, b] = [tables[t]?.route, table.route];
      if (a === undefined || b === undefined) continue;
      if (routeRemainder(a, b) !== undefined || routeRemainder(b, a) !== undefined) {
        throw new ConfigError(
          `${source}: servers[${s}].route "${b}" overlaps servers[${t}].route "${a}": ` +
            "a request could reach either server; give them routes apart (e.g. /a/mcp and /b/mcp)",
        );
      }
    }
  });
}

/**
 * The servers the proxy runs, from the completed file: the old form's upstreams are one server named
 * "default" on `server.route`. Each upstream's TLS and bulkhead come from its own keys, else its
 * server's, else `[proxy]`.
 */
export function serverConfigs(source: string, effective: EffectiveConfig): ServerConfig[] {
  const proxy = effective.proxy;
  const sharedCa = proxy.ca_file === undefined ? undefined : caFile(source, "proxy.ca_file", proxy.ca_file);
  const upstreams = (
    tables: readonly EffectiveUpstream[],
    at: (index: number) => string,
    maxInFlight: number,
  ): UpstreamConfig[] =>
    tables.map((upstream, index) => {
      const ca =
        upstream.ca_file === undefined ? sharedCa : caFile(source, `${at(index)}.ca_file`, upstream.ca_file);
      const insecure = upstream.tls_insecure_skip_verify ?? proxy.tls_insecure_skip_verify;
      return toUpstream(upstream, { ca, insecure }, upstream.max_in_flight ?? maxInFlight);
    });
  const root = effective.server.public_url === undefined ? undefined : new URL(effective.server.public_url);
  if (effective.servers === undefined) {
    return [
      {
        name: implicitServer,
        route: effective.server.route ?? "/",
        publicUrl: root,
        tools: undefined,
        allowsTool: undefined,
        upstreams: upstreams(effective.upstreams, (i) => `upstreams[${i}]`, proxy.max_in_flight),
      },
    ];
  }
  return effective.servers.map((server, s) => ({
    name: server.name,
    route: server.route,
    // with [[servers]], public_url is the proxy's root: each server is reached under its route
    publicUrl:
      root === undefined || server.route === undefined
        ? undefined
        : new URL(targetPath(root.pathname, server.route), root),
    // no `tools` key, no filter at all: nothing is tested per call
    allowsTool:
      server.tools === undefined ? undefined : toolFilterMatcher(server.tools.include, server.tools.exclude),
    tools:
      server.tools === undefined
        ? undefined
        : { include: server.tools.include ?? ["*"], exclude: server.tools.exclude ?? [] },
    upstreams: upstreams(
      server.upstreams,
      (i) => `servers[${s}].upstreams[${i}]`,
      server.max_in_flight ?? proxy.max_in_flight,
    ),
  }));
}
