import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { afterEach, beforeEach, describe, it } from "node:test";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/core/internal";
import { type ReadBody, readJsonRpcBody } from "../../src/jsonrpc/jsonRpcCall.ts";
import type { UpstreamRequest } from "../../src/upstreams/Upstream.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { type AggregateRig, mcpPool, modernRequest, plainHop, startAggregate } from "./endpointFakes.ts";

/**
 * The pool reads a routed call from what the endpoint already parsed (the bare name put in), not by
 * parsing the changed body a second time: what it is given must read exactly as that body does.
 */

let upstream: TestUpstream;
let rig: AggregateRig;
/** What the pool was given to read, per call: the request and the pre-read body, if any. */
let given: { request: UpstreamRequest; read: ReadBody | undefined }[];

beforeEach(async () => {
  upstream = await startUpstream((_req, res, body) => {
    const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`{"jsonrpc":"2.0","id":${id},"result":{"content":[]}}`);
  });
  const pool = mcpPool("notes", [upstream.url]);
  const calls = pool.pool.calls;
  const read = calls.read.bind(calls);
  given = [];
  (calls as { read: typeof calls.read }).read = (request, headers: IncomingHttpHeaders, pre?: ReadBody) => {
    given.push({ request, read: pre });
    return read(request, headers, pre);
  };
  rig = await startAggregate([pool.pool]);
});
afterEach(async () => {
  await rig.close();
  await upstream.close();
});

const session = () => ({ "mcp-session-id": rig.sessions.begin(LATEST_PROTOCOL_VERSION, {}).token });

/** What the pool would read of the body sent: everything the proxy uses of a read body. */
function reading(read: ReadBody) {
  assert.equal(read.kind, "call");
  if (read.kind !== "call") return undefined;
  const { call } = read;
  return {
    messages: read.messages,
    batch: read.batch,
    ids: call.ids,
    tool: call.tool,
    tools: call.tools,
    modern: call.modern === true,
    progressTokens: [...call.progressTokens],
  };
}

describe("the pool reads a routed call without parsing it again (SPEC §7.2)", () => {
  it("is given the endpoint's reading with the bare name, reading exactly as the body sent parses", async () => {
    const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", progressToken: "p1" };
    const calls = [
      // ids as written, escapes in arguments, a progress token: only the name changes
      {
        body: `{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/call","params":{"name":"notes__add","arguments":{"s":"caf\\u00e9","n":1.50},"_meta":${JSON.stringify(meta)}}}`,
        headers: {
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": "notes__add",
        },
      },
      // a name written twice (JSON.parse keeps the last), one escaped
      {
        body: '{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"notes__x","name":"notes\\u005f_add"}}',
        headers: session(),
      },
      modernRequest(3, "prompts/get", { name: "notes__greet" }, "notes__greet"),
      modernRequest(4, "resources/read", { uri: "notes+file:///a" }, "notes+file:///a"),
      modernRequest(5, "completion/complete", {
        ref: { type: "ref/prompt", name: "notes__greet", uri: "notes+file:///b" },
        argument: { name: "x", value: "" },
      }),
    ];
    for (const { body, headers } of calls) {
      const reply = await rig.post(body, headers);
      assert.equal(reply.status, 200, reply.text);
    }
    assert.equal(given.length, calls.length);
    given.forEach(({ request, read }, i) => {
      assert.ok(read !== undefined, `call ${i} given no reading`);
      assert.deepEqual(reading(read), reading(readJsonRpcBody(request.body as Buffer)), `call ${i}`);
    });
    assert.equal(reading(given[0]?.read as ReadBody)?.tool, "add");
  });

  it("leaves the reading to the pool when the hop adds a _meta envelope or speaks another version", async () => {
    const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28" };
    const hops = [
      plainHop({ metaEnvelope: envelope, setHeaders: { "MCP-Protocol-Version": "2026-07-28" } }),
      plainHop({ addsResultType: true, setHeaders: { "MCP-Protocol-Version": "2025-06-18" } }),
    ];
    for (const hop of hops) {
      rig.hops.plan = () => hop;
      const call = modernRequest(7, "tools/call", { name: "notes__add" }, "notes__add");
      const reply = await rig.post(call.body, call.headers);
      assert.equal(reply.status, 200, reply.text);
    }
    assert.deepEqual(
      given.map((g) => g.read),
      [undefined, undefined],
    );
  });
});
