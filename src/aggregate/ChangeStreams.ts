import type { ServerResponse } from "node:http";
import { SUBSCRIPTION_ID_META_KEY } from "@modelcontextprotocol/core/internal";
import type { AggregateLists, ListKind } from "./contracts.ts";

/** The filter members of `subscriptions/listen` the aggregate honours, and the lists each covers. */
const filterKinds: ReadonlyMap<string, readonly ListKind[]> = new Map([
  ["toolsListChanged", ["tools"]],
  ["promptsListChanged", ["prompts"]],
  ["resourcesListChanged", ["resources", "resourceTemplates"]],
]);

/** The notification that tells a change of each list (templates are resources to MCP). */
const changed: Readonly<Record<ListKind, string>> = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed",
  resourceTemplates: "notifications/resources/list_changed",
};

const allKinds: ReadonlySet<ListKind> = new Set(["tools", "prompts", "resources", "resourceTemplates"]);

/** One client's open stream of change notifications. */
interface Stream {
  readonly res: ServerResponse;
  /** The `subscriptions/listen` request's id text (a 2026-07-28 stream); undefined: an earlier-era GET. */
  readonly subscriptionId: string | undefined;
  readonly unsubscribe: () => void;
}

/**
 * The aggregate's change notifications to its clients (SPEC §7.2), on streams Breakwater serves
 * itself: a 2026-07-28 client's `subscriptions/listen` (spec basic/patterns/subscriptions.mdx: the
 * acknowledgement first, with the subscription's id, the request's, in `_meta`, and every notification
 * after it carrying the same id) and an earlier-era client's GET stream on its session. What changed
 * and when (at most once per kind per second) the lists decide; a stream ends when its client goes,
 * or gracefully when the aggregate closes.
 */
export class ChangeStreams {
  readonly #lists: Pick<AggregateLists, "onChange">;
  readonly #open = new Set<Stream>();

  constructor(lists: Pick<AggregateLists, "onChange">) {
    this.#lists = lists;
  }

  /** Streams open now. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Answers a `subscriptions/listen` (its id as JSON text, its `notifications` filter) with a stream:
   * the acknowledgement naming the subset honoured, then the changes of those lists.
   */
  listen(res: ServerResponse, idText: string, filter: unknown): void {
    const agreed: Record<string, boolean> = {};
    const kinds = new Set<ListKind>();
    if (typeof filter === "object" && filter !== null) {
      for (const [member, covered] of filterKinds) {
        if ((filter as Record<string, unknown>)[member] !== true) continue;
        agreed[member] = true;
        for (const kind of covered) kinds.add(kind);
      }
    }
    const meta = `"_meta":{${JSON.stringify(SUBSCRIPTION_ID_META_KEY)}:${idText}}`;
    const ack = `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":${JSON.stringify(agreed)},${meta}}}`;
    this.#open_(
      res,
      kinds,
      idText,
      ack,
      (method) => `{"jsonrpc":"2.0","method":"${method}","params":{${meta}}}`,
    );
  }

  /** Answers an earlier-era client's GET on its session with a stream of every list's changes. */
  session(res: ServerResponse): void {
    this.#open_(res, allKinds, undefined, undefined, (method) => `{"jsonrpc":"2.0","method":"${method}"}`);
  }

  /**
   * Ends every stream: a listen with its graceful closing result (`resultType: "complete"` with the
   * subscription's id), a GET stream by its end.
   */
  close(): void {
    for (const stream of [...this.#open]) {
      this.#open.delete(stream);
      stream.unsubscribe();
      const id = stream.subscriptionId;
      if (id !== undefined && !stream.res.destroyed) {
        const meta = `{${JSON.stringify(SUBSCRIPTION_ID_META_KEY)}:${id}}`;
        stream.res.write(
          event(`{"jsonrpc":"2.0","id":${id},"result":{"resultType":"complete","_meta":${meta}}}`),
        );
      }
      stream.res.end();
    }
  }

  #open_(
    res: ServerResponse,
    kinds: ReadonlySet<ListKind>,
    subscriptionId: string | undefined,
    first: string | undefined,
    notification: (method: string) => string,
  ): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    if (first === undefined) res.flushHeaders();
    else res.write(event(first));
    // resources and their templates changing at once tell one resources/list_changed
    const pending = new Set<string>();
    const tell = (kind: ListKind) => {
      const method = changed[kind];
      if (pending.size === 0)
        queueMicrotask(() => {
          for (const told of pending) if (!res.destroyed) res.write(event(notification(told)));
          pending.clear();
        });
      pending.add(method);
    };
    const unsubscribe = kinds.size === 0 ? () => {} : this.#lists.onChange(kinds, tell);
    const stream: Stream = { res, subscriptionId, unsubscribe };
    this.#open.add(stream);
    res.once("close", () => {
      if (this.#open.delete(stream)) unsubscribe();
    });
  }
}

function event(data: string): string {
  return `event: message\ndata: ${data}\n\n`;
}
