import type { ListKind, Named } from "./contracts.ts";

/**
 * How the aggregate names what its servers offer (SPEC §7.2 "Names"): a tool or prompt `name` of
 * server `s` is `s + separator + name`, a resource or template URI `u` is `s + "+" + u`. Aggregate tool
 * and prompt names must stay valid MCP tool names (SEP-986: `[A-Za-z0-9_.-]`, at most 64 characters).
 */

/** SEP-986's character set, with the 64 characters SPEC §7.2 allows. */
const validName = /^[A-Za-z0-9_.-]{1,64}$/;
const validCharacters = /^[A-Za-z0-9_.-]+$/;

/** Why an item of a server's list is not in the merged list. */
export type LeftOutReason = "invalid_name" | "too_long" | "duplicate";

export interface LeftOut {
  readonly name: string;
  readonly reason: LeftOutReason;
}

/** The field that names an item of a list of `kind`, as the server wrote it. */
export function keyOf(kind: ListKind): "name" | "uri" | "uriTemplate" {
  if (kind === "resources") return "uri";
  if (kind === "resourceTemplates") return "uriTemplate";
  return "name";
}

/** Whether items of `kind` are named (tools, prompts) rather than addressed by URI. */
export function isNamed(kind: ListKind): boolean {
  return kind === "tools" || kind === "prompts";
}

/** The aggregate name of `name` (tool or prompt) of `server`. */
export function prefixName(server: string, separator: string, name: string): string {
  return server + separator + name;
}

/** The aggregate URI of `uri` (resource or template) of `server`. */
export function prefixUri(server: string, uri: string): string {
  return `${server}+${uri}`;
}

/** Why an aggregate tool or prompt name cannot be listed; undefined: it can. */
export function nameProblem(aggregateName: string): "invalid_name" | "too_long" | undefined {
  if (validName.test(aggregateName)) return undefined;
  return aggregateName.length > 64 && validCharacters.test(aggregateName) ? "too_long" : "invalid_name";
}

/** One server's list of `kind` as the aggregate lists it: items renamed, and those left out. */
export interface NamedList {
  readonly items: readonly Record<string, unknown>[];
  readonly leftOut: readonly LeftOut[];
}

/**
 * `items` of `server` (as the server sent them) renamed for the merged list: each a shallow copy with
 * only its name or URI changed. The server's tools filter applies to its own tool names (SPEC §7.1);
 * an item whose aggregate name is invalid, or that repeats a name the server listed earlier, is left
 * out (the first is kept).
 */
export function nameList(
  kind: ListKind,
  server: string,
  separator: string,
  items: readonly Record<string, unknown>[],
  allowsTool: ((tool: string) => boolean) | undefined,
): NamedList {
  const key = keyOf(kind);
  const named = isNamed(kind);
  const seen = new Set<string>();
  const kept: Record<string, unknown>[] = [];
  const leftOut: LeftOut[] = [];
  for (const item of items) {
    const own = item[key];
    if (typeof own !== "string") continue; // the schema checked it; nothing to name otherwise
    if (kind === "tools" && allowsTool !== undefined && !allowsTool(own)) continue;
    const aggregate = named ? prefixName(server, separator, own) : prefixUri(server, own);
    const problem = named ? nameProblem(aggregate) : undefined;
    if (problem !== undefined) leftOut.push({ name: own, reason: problem });
    else if (seen.has(own)) leftOut.push({ name: own, reason: "duplicate" });
    else {
      seen.add(own);
      kept.push({ ...item, [key]: aggregate });
    }
  }
  return { items: kept, leftOut };
}

/**
 * Splits aggregate names and URIs back into server and own name. Config guarantees that no server's
 * `name + separator` is a prefix of another's, so at most one prefix matches.
 */
export class NameSplitter {
  readonly #servers: ReadonlySet<string>;
  readonly #separator: string;

  constructor(servers: Iterable<string>, separator: string) {
    this.#servers = new Set(servers);
    this.#separator = separator;
  }

  /** The server and its own name behind an aggregate tool or prompt name; undefined: no server's. */
  toolOrPrompt(name: string): Named | undefined {
    const separator = this.#separator;
    for (let at = name.indexOf(separator); at !== -1; at = name.indexOf(separator, at + 1)) {
      const server = name.slice(0, at);
      if (this.#servers.has(server)) return { server, name: name.slice(at + separator.length) };
    }
    return undefined;
  }

  /** The server and its own URI behind `server+uri`; undefined: no server's (server names have no `+`). */
  resource(uri: string): Named | undefined {
    const at = uri.indexOf("+");
    if (at <= 0) return undefined;
    const server = uri.slice(0, at);
    return this.#servers.has(server) ? { server, name: uri.slice(at + 1) } : undefined;
  }
}
