import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { CircuitState } from "../breaker/CircuitState.ts";
import { admits, serverStatus } from "../circuits/serverStatus.ts";
import type { Timers } from "../time/Timers.ts";
import { type LeftOut, type NamedList, nameList } from "./AggregateNames.ts";
import { Availability } from "./Availability.ts";
import type { Listed, ListKind } from "./contracts.ts";
import { type FetchOutcome, fetchList } from "./fetchList.ts";
import type { ServerContact } from "./ServerContact.ts";

export const listKinds: readonly ListKind[] = ["tools", "prompts", "resources", "resourceTemplates"];

/** Which circuit state `_meta` reports for a server of many upstreams: the first any of them is in. */
const preference: readonly CircuitState[] = ["closed", "disabled", "half_open", "open", "forced_open"];

/** One kind's last good list of the server: as fetched, named for the aggregate, and how fresh. */
interface KindList {
  readonly raw: readonly Record<string, unknown>[];
  readonly named: NamedList;
  readonly digest: string;
  readonly fetchedAt: number;
  readonly ttlMs: number | undefined;
  readonly cacheScope: unknown;
  /** Fetched while the watch stood for it, and no change said since: fresh whatever its ttlMs. */
  watchedFresh: boolean;
}

export interface ServerListsOptions {
  readonly name: string;
  readonly contact: ServerContact;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly separator: string;
  readonly graceMs: number;
  /** Something of what the server contributes may have changed (lists, listed state). */
  readonly changed: () => void;
}

/**
 * One aggregated server's four lists (SPEC §7.2 "Lists"): the last good one of each kind, fetched through
 * the pool (all pages, checked with the SDK's schemas), fresh while the watch stands and no change was
 * said (or for its `ttlMs`), refetched single-flight when stale; and whether the server is listed
 * `current`, `cached` (unavailable, within grace) or `omitted`.
 */
export class ServerLists {
  readonly name: string;
  readonly #contact: ServerContact;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #changed: () => void;
  readonly availability: Availability;
  #separator: string;
  readonly #lists = new Map<ListKind, KindList>();
  readonly #inflight = new Map<ListKind, Promise<void>>();
  readonly #again = new Set<ListKind>();
  /** Kinds the watch stands for now. */
  #watched: ReadonlySet<ListKind> = new Set();
  /** Per kind, counts changes said and watches lost: a fetch begun before one is not watched-fresh. */
  readonly #epoch = new Map<ListKind, number>();
  #unauthorized = false;
  #retryAfterMs: number | undefined;
  /** Names logged as left out, per kind: one line per name the first time, not per refresh. */
  readonly #logged = new Map<ListKind, Set<string>>();
  #closed = false;

  constructor(options: ServerListsOptions) {
    this.name = options.name;
    this.#contact = options.contact;
    this.#timers = options.timers;
    this.#logger = options.logger;
    this.#separator = options.separator;
    this.#changed = options.changed;
    this.availability = new Availability(options.timers, options.graceMs, options.changed);
  }

  /** What the server contributes to the merged lists now. */
  listed(): Listed {
    if (this.#unauthorized || this.#lists.size === 0) return "omitted";
    if (this.availability.isAvailable) return "current";
    return this.availability.graceOver ? "omitted" : "cached";
  }

  /** Why it is omitted when its lists are not the reason (a 401/403 to Breakwater's own requests). */
  get reason(): "unauthorized" | undefined {
    return this.#unauthorized ? "unauthorized" : undefined;
  }

  /** When the server refused Breakwater's last request: how long until it may admit one. */
  get retryAfterMs(): number | undefined {
    return this.#retryAfterMs;
  }

  /** Its items of `kind` named for the aggregate (whatever it is listed as). */
  items(kind: ListKind): readonly Record<string, unknown>[] {
    return this.#lists.get(kind)?.named.items ?? [];
  }

  leftOut(kind: ListKind): readonly LeftOut[] {
    return this.#lists.get(kind)?.named.leftOut ?? [];
  }

  ttlMs(kind: ListKind): number | undefined {
    return this.#lists.get(kind)?.ttlMs;
  }

  cacheScope(kind: ListKind): unknown {
    return this.#lists.get(kind)?.cacheScope;
  }

  /**
   * What it contributes to the merged list of `kind`: equal keys, equal contribution. An empty list is
   * no contribution, listed or not: leaving it out changes nothing a client sees.
   */
  contribution(kind: ListKind): string {
    const list = this.#lists.get(kind);
    if (list === undefined || list.named.items.length === 0 || this.listed() === "omitted") return "";
    return list.digest;
  }

  /** Whether its list of `kind` must be fetched before it is served. */
  stale(kind: ListKind): boolean {
    const list = this.#lists.get(kind);
    if (list === undefined) return true;
    if (list.watchedFresh) return false;
    return this.#timers.now() - list.fetchedAt >= (list.ttlMs ?? 0);
  }

  /** Whether its circuits all refuse (SPEC §7.1's `unavailable`): nothing is asked of it then. */
  circuitsRefuse(): boolean {
    return serverStatus(this.#contact.pool.upstreams.map((u) => u.circuit)) === "unavailable";
  }

  /**
   * Its circuit state as `_meta` reports it: the most admitting of its upstreams' circuits (one admitting
   * replica serves its lists); when none admits, the soonest any may admit again.
   */
  circuit(): { readonly state: string; readonly retryAfterMs: number | undefined } {
    let best: CircuitState | undefined;
    let retryAfterMs: number | undefined;
    for (const { circuit } of this.#contact.pool.upstreams) {
      const state = circuit.state;
      if (best === undefined || preference.indexOf(state) < preference.indexOf(best)) best = state;
      const wait = admits(state) ? undefined : circuit.metrics().retryAfterMs;
      if (typeof wait === "number") retryAfterMs = Math.min(retryAfterMs ?? wait, wait);
    }
    if (best !== undefined && admits(best)) return { state: best, retryAfterMs: undefined };
    return { state: best ?? "open", retryAfterMs: retryAfterMs ?? this.#retryAfterMs };
  }

  /** A new separator or tools filter: every list is named again. */
  rename(separator: string): void {
    this.#separator = separator;
    for (const [kind, list] of this.#lists) this.#store(kind, list.raw, list, list.watchedFresh);
    this.#changed();
  }

  /**
   * Fetches its list of `kind`, joining a fetch in flight; `again`: one more after that one (the list
   * changed since it began, or the watch stood up meanwhile).
   */
  refresh(kind: ListKind, again = false): Promise<void> {
    const running = this.#inflight.get(kind);
    if (running !== undefined) {
      if (again) this.#again.add(kind);
      return running;
    }
    const fetch = this.#fetch(kind).finally(() => {
      this.#inflight.delete(kind);
      if (this.#again.delete(kind) && !this.#closed) void this.refresh(kind);
    });
    this.#inflight.set(kind, fetch);
    return fetch;
  }

  /** Every list, stale or not: the server came back, or its watch now stands. */
  refreshAll(): void {
    for (const kind of listKinds) void this.refresh(kind);
  }

  /** The watch stands for `kinds`: lists fetched before it are fetched again, then fresh until told. */
  watching(kinds: ReadonlySet<ListKind>): void {
    this.#watched = kinds;
    for (const kind of kinds) if (this.#lists.get(kind)?.watchedFresh !== true) void this.refresh(kind, true);
  }

  /** The watch ended: lists are fresh for their `ttlMs` only. */
  unwatched(): void {
    this.#watched = new Set();
    for (const kind of listKinds) {
      this.#bump(kind);
      const list = this.#lists.get(kind);
      if (list !== undefined) list.watchedFresh = false;
    }
  }

  /** The server said its list of `kind` changed: refetch it now (the change is told when found). */
  saidChanged(kind: ListKind): void {
    this.#bump(kind);
    const list = this.#lists.get(kind);
    if (list !== undefined) list.watchedFresh = false;
    void this.refresh(kind, true);
  }

  /** A client waited `list_timeout_ms` for its list in vain: it is unavailable since now. */
  late(): void {
    this.availability.markUnavailable();
  }

  close(): void {
    this.#closed = true;
    this.availability.close();
  }

  #bump(kind: ListKind): void {
    this.#epoch.set(kind, (this.#epoch.get(kind) ?? 0) + 1);
  }

  async #fetch(kind: ListKind): Promise<void> {
    const epoch = this.#epoch.get(kind) ?? 0;
    const watched = this.#watched.has(kind);
    let outcome: FetchOutcome;
    try {
      outcome = await fetchList(this.#contact, kind);
    } catch (error) {
      // never a rejection: refreshes are started without waiting for them
      outcome = { kind: "failed", reason: error instanceof Error ? error.message : String(error) };
    }
    if (this.#closed) return;
    if (outcome.kind === "list") {
      this.#unauthorized = false;
      this.#retryAfterMs = undefined;
      const fresh = watched && this.#watched.has(kind) && (this.#epoch.get(kind) ?? 0) === epoch;
      this.#store(kind, outcome.items, outcome, fresh);
      if (!this.circuitsRefuse()) this.availability.markAvailable();
    } else if (outcome.kind === "unauthorized") {
      if (!this.#unauthorized)
        this.#logger.warn(
          { server: this.name, status: outcome.status },
          "aggregate: the server refuses Breakwater's own list requests (401/403): its lists are omitted",
        );
      this.#unauthorized = true;
    } else {
      this.#retryAfterMs = outcome.retryAfterMs;
      this.#logger.debug({ server: this.name, kind, reason: outcome.reason }, "aggregate: list fetch failed");
      this.availability.markUnavailable();
    }
    this.#changed();
  }

  #store(
    kind: ListKind,
    raw: readonly Record<string, unknown>[],
    fetched: {
      readonly ttlMs: number | undefined;
      readonly cacheScope?: unknown;
      readonly fetchedAt?: number;
    },
    watchedFresh: boolean,
  ): void {
    const named = nameList(kind, this.name, this.#separator, raw, this.#contact.pool.allowsTool);
    const digest = createHash("sha1").update(JSON.stringify(named.items)).digest("base64");
    this.#lists.set(kind, {
      raw,
      named,
      digest,
      fetchedAt: fetched.fetchedAt ?? this.#timers.now(),
      ttlMs: fetched.ttlMs,
      cacheScope: fetched.cacheScope,
      watchedFresh,
    });
    this.#logLeftOut(kind, named.leftOut);
  }

  #logLeftOut(kind: ListKind, leftOut: readonly LeftOut[]): void {
    const before = this.#logged.get(kind) ?? new Set<string>();
    const now = new Set<string>();
    for (const { name, reason } of leftOut) {
      now.add(name);
      if (!before.has(name))
        this.#logger.warn(
          { server: this.name, kind, name, reason },
          "aggregate: left out of the merged list",
        );
    }
    this.#logged.set(kind, now); // a name listed again is logged again if it is left out later
  }
}
