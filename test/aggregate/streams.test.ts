import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/core/internal";
import { type Dispatcher, request } from "undici";
import { until } from "../support/until.ts";
import { startUpstream, status, type TestUpstream } from "../support/upstream.ts";
import { type AggregateRig, mcpPool, modernRequest, startAggregate } from "./endpointFakes.ts";

let upstream: TestUpstream;
let rig: AggregateRig;

beforeEach(async () => {
  upstream = await startUpstream(status(500));
  rig = await startAggregate([mcpPool("notes", [upstream.url]).pool]);
});
afterEach(async () => {
  await rig.close();
  await upstream.close();
});

/** An open event stream: the events read so far (their data, parsed), and its end. */
interface OpenStream {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData["headers"];
  readonly events: Record<string, unknown>[];
  readonly ended: Promise<void>;
  close(): void;
}

async function openStream(
  method: "POST" | "GET",
  body: string | undefined,
  headers: Record<string, string>,
): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await request(`${rig.proxy.url}/mcp`, {
    method,
    ...(body === undefined ? {} : { body }),
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    signal: controller.signal,
  });
  const events: Record<string, unknown>[] = [];
  let text = "";
  const ended = (async () => {
    try {
      for await (const chunk of res.body) {
        text += String(chunk);
        let end = text.indexOf("\n\n");
        while (end >= 0) {
          const data = text
            .slice(0, end)
            .split("\n")
            .filter((line) => line.startsWith("data: "))
            .map((line) => line.slice(6))
            .join("\n");
          if (data !== "") events.push(JSON.parse(data) as Record<string, unknown>);
          text = text.slice(end + 2);
          end = text.indexOf("\n\n");
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return { status: res.statusCode, headers: res.headers, events, ended, close: () => controller.abort() };
}

const subscriptionId = "io.modelcontextprotocol/subscriptionId";

describe("the aggregate's change streams (SPEC §7.2)", () => {
  it("a modern client's subscriptions/listen gets the acknowledgement first, then list_changed with its subscriptionId", async () => {
    const listen = modernRequest(42, "subscriptions/listen", {
      notifications: { toolsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ["x"] },
    });
    const stream = await openStream("POST", listen.body, listen.headers);
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers["content-type"]), /^text\/event-stream/);
    await until(() => stream.events.length === 1, "the acknowledgement");
    assert.deepEqual(stream.events[0], {
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: {
        notifications: { toolsListChanged: true, resourcesListChanged: true },
        _meta: { [subscriptionId]: 42 },
      },
    });
    rig.lists.change("prompts"); // not asked for
    rig.lists.change("tools");
    await until(() => stream.events.length === 2, "the tools notification");
    assert.deepEqual(stream.events[1], {
      jsonrpc: "2.0",
      method: "notifications/tools/list_changed",
      params: { _meta: { [subscriptionId]: 42 } },
    });
    // templates are resources to MCP: both changing at once tell one notification
    rig.lists.change("resources");
    rig.lists.change("resourceTemplates");
    await until(() => stream.events.length === 3, "the resources notification");
    assert.equal(stream.events[2]?.["method"], "notifications/resources/list_changed");
    stream.close();
    await stream.ended;
    assert.equal(upstream.seen.length, 0);
  });

  it("lets the request's body go while its stream stays open", async () => {
    const listen = modernRequest("L", "subscriptions/listen", { notifications: { toolsListChanged: true } });
    const stream = await openStream("POST", listen.body, listen.headers);
    await until(() => stream.events.length === 1, "the acknowledgement");
    // the proxy gives a body back to its budget once serve has resolved
    assert.equal(rig.proxy.options.bodyBudget.held, 0);
    assert.equal(rig.endpoint.streams, 1);
    stream.close();
    await stream.ended;
  });

  it("unsubscribes when the client goes", async () => {
    const listen = modernRequest(1, "subscriptions/listen", { notifications: { toolsListChanged: true } });
    const stream = await openStream("POST", listen.body, listen.headers);
    await until(() => stream.events.length === 1, "the acknowledgement");
    assert.equal(rig.lists.listeners, 1);
    stream.close();
    await until(() => rig.lists.listeners === 0, "the unsubscribe");
    assert.equal(rig.endpoint.streams, 0);
  });

  it("an earlier-era client's GET stream on its session gets list_changed", async () => {
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const stream = await openStream("GET", undefined, { "mcp-session-id": token });
    assert.equal(stream.status, 200);
    await until(() => rig.lists.listeners === 1, "the subscription");
    rig.lists.change("prompts");
    await until(() => stream.events.length === 1, "the prompts notification");
    assert.deepEqual(stream.events[0], { jsonrpc: "2.0", method: "notifications/prompts/list_changed" });
    stream.close();
    await stream.ended;
  });

  it("refuses a GET of an unknown session with 404, and one without a session with 405", async () => {
    const unknown = await request(`${rig.proxy.url}/mcp`, {
      method: "GET",
      headers: { "mcp-session-id": "no" },
    });
    await unknown.body.dump();
    assert.equal(unknown.statusCode, 404);
    const none = await request(`${rig.proxy.url}/mcp`, { method: "GET" });
    await none.body.dump();
    assert.equal(none.statusCode, 405);
  });

  it("ends every stream on close: a listen with its graceful closing result", async () => {
    const listen = modernRequest(7, "subscriptions/listen", { notifications: { toolsListChanged: true } });
    const stream = await openStream("POST", listen.body, listen.headers);
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const get = await openStream("GET", undefined, { "mcp-session-id": token });
    await until(() => stream.events.length === 1 && rig.lists.listeners === 2, "both streams");
    rig.endpoint.close();
    await stream.ended;
    await get.ended;
    assert.deepEqual(stream.events[1], {
      jsonrpc: "2.0",
      id: 7,
      result: { resultType: "complete", _meta: { [subscriptionId]: 7 } },
    });
    assert.equal(rig.lists.listeners, 0);
  });
});
