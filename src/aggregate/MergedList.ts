import { createHash } from "node:crypto";
import type { McpEra } from "../health/discoverEra.ts";
import type { LeftOut } from "./AggregateNames.ts";
import type { ListAnswer, Listed, ListKind } from "./contracts.ts";

/** Left-out names a list result names per server and kind, at most (the log has every one). */
export const maxLeftOutNamed = 100;
/** A left-out name as a list result shows it, at most (an invalid name may be of any length). */
export const maxLeftOutChars = 128;

function shortened(name: string): string {
  return name.length <= maxLeftOutChars ? name : `${name.slice(0, maxLeftOutChars - 1)}…`;
}

/** Items per page of a merged list (its pagination, SPEC §7.2). */
export const pageSize = 1_000;
/** JSON-RPC "invalid params": a cursor of a merged list that changed since (clients start over). */
const invalidParams = -32602;
const cursorPrefix = "bw1.";

/** What the merged lists read of one server, at build and at answer time. */
export interface ServerShare {
  readonly name: string;
  listed(): Listed;
  items(kind: ListKind): readonly Record<string, unknown>[];
  leftOut(kind: ListKind): readonly LeftOut[];
  ttlMs(kind: ListKind): number | undefined;
  cacheScope(kind: ListKind): unknown;
  /** The server's circuit state as `_meta` reports it, and when it may admit again if it refuses. */
  circuit(): { readonly state: string; readonly retryAfterMs: number | undefined };
  /** Why it is omitted besides grace (a 401/403). */
  readonly reason: string | undefined;
}

/**
 * The merged list of one kind (SPEC §7.2 "Lists"): the union of the listed servers' items, in config
 * order and each server's order, serialised once per change into pages. A request pays a Map read and a
 * small tail: `_meta["breakwater/servers"]` read then (so `retryAfterMs` is true), and for 2026-07-28
 * clients `resultType`, `ttlMs` and `cacheScope`.
 */
export class MergedList {
  readonly kind: ListKind;
  /** Each page's items as JSON text. */
  #pages: readonly string[] = ["[]"];
  #digest: Buffer = Buffer.alloc(8);
  #count = 0;

  constructor(kind: ListKind) {
    this.kind = kind;
  }

  /** How many items the merged list holds. */
  get count(): number {
    return this.#count;
  }

  /** Builds the merged list again from the servers' current contributions. */
  rebuild(servers: readonly ServerShare[]): void {
    const items: Record<string, unknown>[] = [];
    for (const server of servers) if (server.listed() !== "omitted") items.push(...server.items(this.kind));
    const pages: string[] = [];
    for (let at = 0; at < items.length; at += pageSize)
      pages.push(JSON.stringify(items.slice(at, at + pageSize)));
    this.#pages = pages.length === 0 ? ["[]"] : pages;
    this.#count = items.length;
    const hash = createHash("sha1");
    for (const page of this.#pages) hash.update(page);
    this.#digest = hash.digest().subarray(0, 8);
  }

  /** The result text of the page `cursor` names (the first without one), for a client of `era`. */
  answer(servers: readonly ServerShare[], era: McpEra, cursor: string | undefined): ListAnswer {
    const page = cursor === undefined ? 0 : this.#pageOf(cursor);
    if (page === undefined)
      return {
        error: {
          code: invalidParams,
          message: "the cursor is of a list that has changed since: list again from the start",
          data: { reason: "stale_cursor" },
        },
      };
    const tail: Record<string, unknown> = {};
    if (page + 1 < this.#pages.length) tail["nextCursor"] = this.#cursor(page + 1);
    tail["_meta"] = { "breakwater/servers": this.#servers(servers) };
    if (era === "modern") Object.assign(tail, { resultType: "complete", ...this.#caching(servers) });
    const items = this.#pages[page] as string;
    return { result: `{"${this.kind}":${items},${JSON.stringify(tail).slice(1)}` };
  }

  /**
   * Per server what `_meta["breakwater/servers"]` tells of it for this kind: its circuit, how it is
   * listed, and the names left out (the first {@link maxLeftOutNamed}, each cut to
   * {@link maxLeftOutChars} characters; `left_out_count` says how many when there are more).
   */
  #servers(servers: readonly ServerShare[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const server of servers) {
      const { state, retryAfterMs } = server.circuit();
      const entry: Record<string, unknown> = { state, listed: server.listed() };
      if (retryAfterMs !== undefined) entry["retryAfterMs"] = retryAfterMs;
      const leftOut = server.leftOut(this.kind);
      if (leftOut.length > 0) {
        // named, but bounded: a server listing thousands of bad names must not swell every client's list
        entry["left_out"] = leftOut.slice(0, maxLeftOutNamed).map((l) => shortened(l.name));
        if (leftOut.length > maxLeftOutNamed) entry["left_out_count"] = leftOut.length;
      }
      if (server.reason !== undefined) entry["reason"] = server.reason;
      out[server.name] = entry;
    }
    return out;
  }

  /**
   * `ttlMs`: the smallest of the listed servers' (none given counts 0); 0 whenever a server is cached or
   * omitted (a partial list is never cacheable). `cacheScope`: "private" if any server's is, or lacks one.
   */
  #caching(servers: readonly ServerShare[]): { ttlMs: number; cacheScope: "private" | "public" } {
    let ttlMs = Number.POSITIVE_INFINITY;
    let cacheScope: "private" | "public" = "public";
    for (const server of servers) {
      const listed = server.listed();
      if (listed !== "current") ttlMs = 0;
      if (listed === "omitted") continue;
      ttlMs = Math.min(ttlMs, server.ttlMs(this.kind) ?? 0);
      if (server.cacheScope(this.kind) !== "public") cacheScope = "private";
    }
    return { ttlMs: Number.isFinite(ttlMs) ? ttlMs : 0, cacheScope };
  }

  #cursor(page: number): string {
    const bytes = Buffer.alloc(12);
    this.#digest.copy(bytes, 0);
    bytes.writeUInt32BE(page, 8);
    return cursorPrefix + bytes.toString("base64url");
  }

  /** The page an opaque cursor names, if it is of the merged list as it is now. */
  #pageOf(cursor: string): number | undefined {
    if (!cursor.startsWith(cursorPrefix)) return undefined;
    const bytes = Buffer.from(cursor.slice(cursorPrefix.length), "base64url");
    if (bytes.length !== 12 || !bytes.subarray(0, 8).equals(this.#digest)) return undefined;
    const page = bytes.readUInt32BE(8);
    return page < this.#pages.length ? page : undefined;
  }
}
