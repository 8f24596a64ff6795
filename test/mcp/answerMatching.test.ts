import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const sse = (...messages: string[]) => messages.map((m) => `event: message\ndata: ${m}\n\n`).join("");

/** Answers every POST with an event stream written by `events` from the request's body. */
const streaming =
  (events: (body: string) => string): Handler =>
  (_req, res, body) => {
    res.writeHead(200, { "content-type": "text/event-stream" }).end(events(body));
  };

async function behind(handler: Handler, toml = "") {
  const fleet = await startFleet({ u: handler }, `[proxy.circuit_breaker]\nfailure_threshold = 3\n${toml}`);
  opened.push(fleet.close);
  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await request(fleet.proxy.url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const circuit = () => fleet.proxy.breakwater.upstreams[0]?.circuit.metrics();
  const tool = (name: string) => fleet.proxy.breakwater.circuits.get("u", name)?.breaker;
  return { fleet, post, circuit, tool };
}

/** The `_meta` of a request of MCP 2026-07-28, as JSON text (the member, and as the only params). */
const modernMeta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}';
const modernParams = `"params":{${modernMeta}}`;

describe("matching an event stream's answer to its call (SPEC §3.1)", () => {
  it("takes no server-to-client request with the call's id for its answer: only the answer counts", async () => {
    const { post, circuit } = await behind(
      streaming(() =>
        sse(
          '{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}}',
          '{"jsonrpc":"2.0","id":0,"error":{"code":-32603,"message":"backend down"}}',
        ),
      ),
    );
    for (let i = 0; i < 3; i++) await post('{"jsonrpc":"2.0","id":0,"method":"tools/list"}');
    assert.deepEqual([circuit()?.failedRequests, circuit()?.state], [3, "open"]);
  });

  it("matches an id the server escapes otherwise, or an integer beyond 2^53 written by its digits", async () => {
    const { post, circuit } = await behind(
      streaming((body) => {
        const id = /"id":("[^"]*"|\d+)/.exec(body)?.[1] as string;
        // a server echoing a value as Python's json.dumps writes it: non-ASCII escaped
        const written = id.startsWith('"') ? JSON.stringify(JSON.parse(id)).replace("é", "\\u00e9") : id;
        return sse(`{"jsonrpc":"2.0","id":${written},"result":{}}`);
      }),
    );
    await post('{"jsonrpc":"2.0","id":"café","method":"tools/list"}');
    await post('{"jsonrpc":"2.0","id":12345678901234567891,"method":"tools/list"}');
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [2, 0]);
  });
});

describe("the proxy's own answers echo the client's id as it wrote it", () => {
  it("in a 503 fallback, a tool-unavailable result and a -32020 header mismatch", async () => {
    const { fleet, post } = await behind((_req, res) => {
      // every answer lists tool q, so that the proxy learns it exists and gives it a circuit
      res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"q","inputSchema":{"type":"object"}}]}}');
    }, "[proxy.tool_circuit]\nfailure_threshold = 1\n");
    const ids = ["12345678901234567891", '"caf\\u00e9"', "1.0"];
    for (const id of ids) {
      // the routing headers are MCP 2026-07-28's: checked on a request that claims it
      const mismatch = await post(`{"jsonrpc":"2.0","id":${id},"method":"tools/list",${modernParams}}`, {
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
      });
      assert.equal(mismatch.status, 400);
      assert.ok(mismatch.text.includes(`"id":${id},`), mismatch.text);
    }
    const tools = fleet.proxy.breakwater.circuits;
    await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    await post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"q"}}');
    const q = tools.get("u", "q");
    assert.ok(q !== undefined, "q has a circuit");
    q.breaker.forceOpen();
    for (const id of ids) {
      const refused = await post(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"q"}}`);
      assert.ok(refused.text.startsWith(`{"jsonrpc":"2.0","id":${id},"result"`), refused.text);
    }
    fleet.proxy.breakwater.upstreams[0]?.circuit.forceOpen();
    for (const id of ids) {
      const fallback = await post(`{"jsonrpc":"2.0","id":${id},"method":"tools/list"}`);
      assert.equal(fallback.status, 503);
      assert.ok(fallback.text.startsWith(`{"jsonrpc":"2.0","id":${id},"error"`), fallback.text);
    }
  });
});

describe("a body the proxy must read as the server will (SPEC §3.2)", () => {
  it("checks Mcp-Name against a body with an invalid UTF-8 byte, as the SDK's lenient decoder reads it", async () => {
    const { fleet, post } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    const body = Buffer.concat([
      Buffer.from(
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"delete_file","note":"',
      ),
      Buffer.from([0xff]),
      Buffer.from('"}}'),
    ]);
    const forged = await post(body, {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "read_file",
    });
    assert.equal(forged.status, 400);
    assert.equal(JSON.parse(forged.text).error.code, -32020);
    assert.equal(fleet.upstreams["u"]?.seen.length, 0);
  });

  it("refuses a batch holding a tools/call (-32600), which no tool circuit could guard", async () => {
    const { fleet, post } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    const reply = await post('[{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"q"}}]');
    assert.equal(reply.status, 400);
    assert.deepEqual(
      (JSON.parse(reply.text) as { id: string; error: { code: number } }[]).map((e) => [e.id, e.error.code]),
      [["a", -32600]],
    );
    assert.equal(fleet.upstreams["u"]?.seen.length, 0);
  });

  it("checks Mcp-Name against each element of a batch", async () => {
    const { fleet, post } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    const batch = `[{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"secret",${modernMeta}}}]`;
    const reply = await post(batch, {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "prompts/get",
      "mcp-name": "public",
    });
    assert.equal(reply.status, 400);
    assert.equal(fleet.upstreams["u"]?.seen.length, 0);
  });
});
