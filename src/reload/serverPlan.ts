import type { ServerConfig } from "../config/Config.ts";

/** What a reload did to the servers, by name (SPEC §7.1, §6.3); their upstreams are told apart. */
export interface ServerChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Kept under the same name with another route, tools filter or list of upstreams. */
  readonly changed: readonly string[];
}

/**
 * Which servers a new config adds, removes or changes: its route, its tools filter's globs (an edit of
 * what a client may call is told), or the names of its upstreams.
 */
export function planServers(before: readonly ServerConfig[], after: readonly ServerConfig[]): ServerChanges {
  const old = new Map(before.map((server) => [server.name, server]));
  const names = new Set(after.map((server) => server.name));
  const added: string[] = [];
  const changed: string[] = [];
  for (const server of after) {
    const was = old.get(server.name);
    if (was === undefined) added.push(server.name);
    else if (!sameServer(was, server)) changed.push(server.name);
  }
  const removed = before.filter((server) => !names.has(server.name)).map((server) => server.name);
  return { added, removed, changed };
}

function sameServer(a: ServerConfig, b: ServerConfig): boolean {
  return (
    a.route === b.route &&
    JSON.stringify(a.tools) === JSON.stringify(b.tools) &&
    a.upstreams.length === b.upstreams.length &&
    a.upstreams.every((u, i) => u.name === b.upstreams[i]?.name)
  );
}
