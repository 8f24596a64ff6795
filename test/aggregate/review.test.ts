import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import { type AnswerContext, rewriteMessage } from "../../src/aggregate/answerMessages.ts";
import { ChangeStreams } from "../../src/aggregate/ChangeStreams.ts";
import { ChangeTeller } from "../../src/aggregate/ChangeTeller.ts";
import { fetchList } from "../../src/aggregate/fetchList.ts";
import type { OwnAnswer, ServerContact } from "../../src/aggregate/ServerContact.ts";
import type { ServerLists } from "../../src/aggregate/ServerLists.ts";
import { ServerWatch } from "../../src/aggregate/ServerWatch.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { FakePoolClient } from "./fakePools.ts";

/** A contact with a server that answers every page with `page(n)` (its capabilities: tools). */
function pagedContact(page: (n: number) => Record<string, unknown>): ServerContact & { asked: number } {
  const contact = {
    asked: 0,
    async contact() {
      return { era: "modern", capabilities: { tools: {} }, session: undefined };
    },
    async ask(): Promise<OwnAnswer> {
      const result = page(contact.asked);
      contact.asked++;
      return { kind: "result", result };
    },
  };
  return contact as unknown as ServerContact & { asked: number };
}

describe("a hostile server's lists (review of SPEC §7.2)", () => {
  it("a list whose pages add up past what one list may hold is a failed fetch, not held whole", async () => {
    // one 4 MiB description per page (one string shared here; over the network each page is its own)
    const description = "x".repeat(4 * 1024 * 1024);
    const contact = pagedContact((n) => ({
      tools: [{ name: `t${n}`, description, inputSchema: { type: "object" } }],
      nextCursor: `c${n + 1}`,
    }));
    const outcome = await fetchList(contact, "tools");
    assert.equal(outcome.kind, "failed");
    assert.ok(contact.asked <= 3, `asked ${contact.asked} pages of a list already too large`);
  });
});

describe("change notifications (review of SPEC §7.2: at most one per kind per second per client)", () => {
  it("a client hears one resources/list_changed in a second when resources and then templates change", async () => {
    const timers = new ManualTimers();
    const teller = new ChangeTeller(timers);
    const streams = new ChangeStreams({ onChange: (kinds, tell) => teller.subscribe(kinds, tell) });
    const res = new FakeStream();
    streams.session(res as unknown as ServerResponse);
    teller.changed("resources");
    await timers.advance(500);
    teller.changed("resourceTemplates");
    await timers.advance(0);
    const inTheSecond = res.notifications("notifications/resources/list_changed");
    await timers.advance(1_000);
    assert.equal(inTheSecond, 1, `${inTheSecond} resources/list_changed within 500 ms`);
    assert.equal(
      res.notifications("notifications/resources/list_changed"),
      2,
      "the templates' change is told",
    );
  });
});

/** The response of a change stream, as ChangeStreams writes it. */
class FakeStream extends EventEmitter {
  readonly written: string[] = [];
  destroyed = false;
  writeHead() {
    return this;
  }
  flushHeaders() {}
  write(text: string) {
    this.written.push(text);
    return true;
  }
  end() {}
  notifications(method: string): number {
    return this.written.filter((text) => text.includes(`"method":"${method}"`)).length;
  }
}

describe("reload (review of SPEC §7.2)", () => {
  it("an aggregate closed (its config removed by a reload) leaves no listener on the circuits it watched", () => {
    const registry = new CircuitRegistry();
    const circuit = registry.create("notes-1", {});
    const attached = new Set<() => void>();
    const subscribe = circuit.breaker.onStateChange.bind(circuit.breaker);
    circuit.breaker.onStateChange = (listener) => {
      const off = subscribe(listener);
      const undo = () => {
        attached.delete(undo);
        off();
      };
      attached.add(undo);
      return undo;
    };
    const aggregate = new Aggregate({
      poolClient: new FakePoolClient(),
      circuits: registry,
      timers: new ManualTimers(),
      logger: capturedLog().logger,
    });
    assert.equal(attached.size, 1, "the aggregate watches the circuit made before it");
    aggregate.close();
    // each listener holds the closed aggregate (its lists) for as long as the circuit lives
    assert.equal(attached.size, 0, "listeners left on the circuit after close");
  });
});

describe("a server's requests relayed (review of SPEC §7.2)", () => {
  const context = (relaysServerRequests: boolean): AnswerContext => ({
    server: "notes",
    lists: { prefixUri: (server, uri) => `${server}+${uri}`, serverSaidChanged: () => {} },
    addsResultType: false,
    relaysServerRequests,
    refuseServerRequest: () => {},
  });

  it("a server's cancellation of its own request names the id the earlier-era client knows it by", () => {
    const relayed = rewriteMessage(
      Buffer.from('{"jsonrpc":"2.0","id":0,"method":"elicitation/create","params":{}}'),
      context(true),
    );
    assert.match(String(relayed), /"id":"bw:notes:0"/);
    const cancelled = rewriteMessage(
      Buffer.from('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}'),
      context(true),
    );
    assert.equal(
      String(cancelled),
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"bw:notes:0"}}',
    );
  });

  it("a server's cancellation of a request a modern client never saw (it was refused) is not sent on", () => {
    const cancelled = rewriteMessage(
      Buffer.from('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"s1"}}'),
      context(false),
    );
    assert.equal(cancelled, "dropped");
  });
});

describe("a watch closed while it contacts its server (review of SPEC §7.2)", () => {
  it("opens no listen once closed, though the server's first answer comes after the close", async () => {
    let reached: (contact: unknown) => void = () => {};
    const listens: AbortSignal[] = [];
    const contact = {
      contact: () => new Promise((resolve) => (reached = resolve)),
      ask: (_method: string, _params: unknown, options: { signal: AbortSignal }) => {
        listens.push(options.signal);
        return new Promise((resolve) =>
          options.signal.addEventListener("abort", () => resolve({ kind: "unavailable", reason: "aborted" })),
        );
      },
    };
    const lists = { watching() {}, unwatched() {}, saidChanged() {} };
    const watch = new ServerWatch({
      contact: contact as unknown as ServerContact,
      lists: lists as unknown as ServerLists,
      poolClient: new FakePoolClient(),
      timers: new ManualTimers(),
    });
    watch.start();
    watch.close(); // a reload removed the server while Breakwater was still asking it what it is
    reached({ era: "modern", capabilities: { tools: { listChanged: true } }, session: undefined });
    await new Promise((resolve) => setImmediate(resolve));
    const standing = listens.filter((signal) => !signal.aborted).length;
    assert.equal(standing, 0, "a listen stands after its watch was closed, and nothing ends it");
  });
});

describe("a server's list change said on a call's stream (review of SPEC §7.2)", () => {
  it("resources/list_changed refetches the resource templates too, as the watch does", () => {
    const said: string[] = [];
    const context: AnswerContext = {
      server: "notes",
      lists: { prefixUri: (s, uri) => `${s}+${uri}`, serverSaidChanged: (_s, kind) => said.push(kind) },
      addsResultType: false,
      relaysServerRequests: true,
      refuseServerRequest: () => {},
    };
    const message = '{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}';
    assert.equal(rewriteMessage(Buffer.from(message), context), "dropped");
    assert.deepEqual(said, ["resources", "resourceTemplates"]);
  });
});
