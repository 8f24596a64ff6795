import { maxTimerMs, type Timer, type Timers } from "../time/Timers.ts";
import type { ListKind, PoolClient } from "./contracts.ts";
import { type Contact, ownSessionHeaders, type ServerContact } from "./ServerContact.ts";
import type { ServerLists } from "./ServerLists.ts";

/** Re-opening a watch that ended: jittered backoff from 1 s to 30 s (SPEC §7.2's lists kept fresh). */
const firstBackoffMs = 1_000;
const maxBackoffMs = 30_000;
/** An earlier-era GET stream has no acknowledgement: it stands once it stayed open this long. */
export const getStreamStandsAfterMs = 1_000;

/** The kinds each change notification is about (`resources/list_changed` covers templates too). */
const notified: Readonly<Record<string, readonly ListKind[]>> = {
  "notifications/tools/list_changed": ["tools"],
  "notifications/prompts/list_changed": ["prompts"],
  "notifications/resources/list_changed": ["resources", "resourceTemplates"],
};

export interface ServerWatchOptions {
  readonly contact: ServerContact;
  readonly lists: ServerLists;
  readonly poolClient: PoolClient;
  readonly timers: Timers;
  /** In [0, 1): the backoff's jitter. */
  readonly random?: (() => number) | undefined;
}

/**
 * Breakwater's own change stream to one server: `subscriptions/listen` for the kinds the server
 * advertises `listChanged` for (2026-07-28), or its own session's GET stream (earlier era). A change
 * said marks that list stale and refetches it; while the watch stands lists need no refetch. A watch
 * that ends is re-opened with jittered backoff, at once when the server's circuit closes.
 */
export class ServerWatch {
  readonly #contact: ServerContact;
  readonly #lists: ServerLists;
  readonly #poolClient: PoolClient;
  readonly #timers: Timers;
  readonly #random: () => number;
  #abort = new AbortController();
  #closed = false;
  #backoffMs = firstBackoffMs;
  #waiting: { readonly timer: Timer; readonly resume: () => void } | undefined;

  constructor(options: ServerWatchOptions) {
    this.#contact = options.contact;
    this.#lists = options.lists;
    this.#poolClient = options.poolClient;
    this.#timers = options.timers;
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    void this.#run();
  }

  /** The server came back: re-open now rather than at the backoff's end. */
  wake(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#timers.clearTimeout(waiting.timer);
    this.#backoffMs = firstBackoffMs;
    waiting.resume();
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort(new Error("the aggregate no longer watches this server"));
    this.wake();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let stoodAt: number | undefined;
      try {
        stoodAt = await this.#once();
      } catch {
        // a watch that throws is a watch that ended: re-opened below
      }
      this.#lists.unwatched();
      if (this.#closed) return;
      // a watch that stood a while starts the backoff over; one that keeps ending at once does not
      if (stoodAt !== undefined && this.#timers.now() - stoodAt >= maxBackoffMs)
        this.#backoffMs = firstBackoffMs;
      const base = this.#backoffMs;
      this.#backoffMs = Math.min(base * 2, maxBackoffMs);
      await this.#wait(base / 2 + (base / 2) * this.#random());
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const resume = () => {
        this.#waiting = undefined;
        resolve();
      };
      this.#waiting = { timer: this.#timers.setTimeout(resume, ms), resume };
    });
  }

  /** One watch, to its end: when it stood (acknowledged, or a GET stream that stayed open), if it did. */
  async #once(): Promise<number | undefined> {
    const contact = await this.#contact.contact(maxBackoffMs);
    // closed meanwhile (a reload removed the server): its abort is spent, nothing would end a listen now
    if (this.#closed || !("era" in contact)) return undefined;
    const kinds = watchable(contact);
    // nothing to watch (a server without a session has no stream to say changes on): lists are fresh
    // for their ttlMs
    if (kinds.size === 0 || (contact.session?.id === undefined && contact.era === "earlier"))
      return undefined;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    let stoodAt: number | undefined;
    const onMessage = (message: Record<string, unknown>): void => {
      const method = message["method"];
      if (typeof method !== "string") return;
      if ("id" in message) {
        if (contact.session !== undefined) this.#contact.refuse(contact.session, message["id"]);
        return;
      }
      if (method === "notifications/subscriptions/acknowledged") {
        stoodAt = this.#timers.now();
        this.#lists.watching(kinds);
      }
      for (const kind of notified[method] ?? []) this.#lists.saidChanged(kind);
    };
    const session = contact.session;
    if (session === undefined) {
      const notifications = {
        toolsListChanged: kinds.has("tools"),
        promptsListChanged: kinds.has("prompts"),
        resourcesListChanged: kinds.has("resources"),
      };
      await this.#contact.ask(
        "subscriptions/listen",
        { notifications },
        { timeoutMs: maxTimerMs, signal, onMessage },
      );
      return stoodAt;
    }
    const standing = this.#timers.setTimeout(() => {
      stoodAt = this.#timers.now();
      this.#lists.watching(kinds);
    }, getStreamStandsAfterMs);
    const headers = ownSessionHeaders(session);
    const ended = await this.#poolClient.stream(session.upstream, headers, onMessage, signal);
    this.#timers.clearTimeout(standing);
    if (ended !== "ended") this.#contact.forget(); // the session may be gone: initialize again
    return stoodAt;
  }
}

/** The kinds a server advertises `listChanged` for. */
function watchable(contact: Contact): ReadonlySet<ListKind> {
  const kinds = new Set<ListKind>();
  const says = (capability: string) =>
    (contact.capabilities[capability] as { listChanged?: unknown } | undefined)?.listChanged === true;
  if (says("tools")) kinds.add("tools");
  if (says("prompts")) kinds.add("prompts");
  if (says("resources")) {
    kinds.add("resources");
    kinds.add("resourceTemplates");
  }
  return kinds;
}
