import assert from "node:assert/strict";
import { test } from "node:test";
import { mcpRequestFacts, spanName } from "../../src/telemetry/mcpRequestFacts.ts";

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const body = (text: string) => Buffer.from(text);

test("reads a tool call's method, id, tool name and _meta trace context", () => {
  const facts = mcpRequestFacts(
    body(
      `{"jsonrpc":"2.0","id":"call-7","method":"tools/call","params":{"name":"get_weather","arguments":{"name":"x"},` +
        `"_meta":{"traceparent":"${traceparent}","tracestate":"rojo=1"}}}`,
    ),
  );
  assert.deepEqual(facts, {
    method: "tools/call",
    requestId: "call-7",
    toolName: "get_weather",
    promptName: undefined,
    resourceUri: undefined,
    protocolVersion: undefined,
    traceparent,
    tracestate: "rojo=1",
    metaAbsent: undefined,
  });
});

test("gives a numeric id as the client wrote its digits, beyond 2^53 too", () => {
  const facts = mcpRequestFacts(body('{"jsonrpc":"2.0","id":12345678901234567890,"method":"ping"}'));
  assert.equal(facts?.requestId, "12345678901234567890");
  assert.equal(mcpRequestFacts(body('{"jsonrpc":"2.0","id":7,"method":"ping"}'))?.requestId, "7");
});

test("gives no request id for a notification or a null id", () => {
  const notification = mcpRequestFacts(body('{"jsonrpc":"2.0","method":"notifications/initialized"}'));
  assert.equal(notification?.method, "notifications/initialized");
  assert.equal(notification?.requestId, undefined);
  assert.equal(mcpRequestFacts(body('{"jsonrpc":"2.0","id":null,"method":"ping"}'))?.requestId, undefined);
});

test("names the prompt of prompts/get and the resource of resources/read, subscribe and unsubscribe", () => {
  const prompt = mcpRequestFacts(
    body('{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"review"}}'),
  );
  assert.equal(prompt?.promptName, "review");
  assert.equal(prompt?.toolName, undefined);
  for (const method of ["resources/read", "resources/subscribe", "resources/unsubscribe"]) {
    const text = `{"jsonrpc":"2.0","id":1,"method":"${method}","params":{"uri":"file:///a b.txt"}}`;
    assert.equal(mcpRequestFacts(body(text))?.resourceUri, "file:///a b.txt", method);
  }
});

test("reads a name or uri only for the method it belongs to, and only when it is a string", () => {
  const list = mcpRequestFacts(
    body('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"x","uri":"y"}}'),
  );
  assert.equal(list?.toolName, undefined);
  assert.equal(list?.resourceUri, undefined);
  const numeric = mcpRequestFacts(body('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}'));
  assert.equal(numeric?.toolName, undefined);
});

test("takes trace context from _meta only when its values are strings", () => {
  const facts = mcpRequestFacts(
    body(
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":1,"tracestate":{"a":1}}}}',
    ),
  );
  assert.equal(facts?.traceparent, undefined);
  assert.equal(facts?.tracestate, undefined);
});

test("takes the protocol version from a 2026-07-28 _meta claim before the header", () => {
  const modern = body(
    '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}',
  );
  assert.equal(
    mcpRequestFacts(modern, { "mcp-protocol-version": "2025-11-25" })?.protocolVersion,
    "2026-07-28",
  );
});

test("takes the protocol version from the MCP-Protocol-Version header, parsed or raw, when sent once", () => {
  const earlier = body('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
  assert.equal(
    mcpRequestFacts(earlier, { "mcp-protocol-version": "2025-11-25" })?.protocolVersion,
    "2025-11-25",
  );
  assert.equal(
    mcpRequestFacts(earlier, ["Host", "x", "MCP-Protocol-Version", "2025-06-18"])?.protocolVersion,
    "2025-06-18",
  );
  const twice = ["mcp-protocol-version", "2025-06-18", "Mcp-Protocol-Version", "2025-11-25"];
  assert.equal(mcpRequestFacts(earlier, twice)?.protocolVersion, undefined);
  assert.equal(
    mcpRequestFacts(earlier, { "mcp-protocol-version": "2025-06-18, 2025-11-25" })?.protocolVersion,
    undefined,
  );
  assert.equal(mcpRequestFacts(earlier)?.protocolVersion, undefined);
});

test("gives no facts for a batch, a response, a text that is not JSON, or JSON that is not JSON-RPC 2.0", () => {
  for (const text of [
    '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
    '{"jsonrpc":"2.0","id":1,"result":{}}',
    '{"jsonrpc":"2.0","id":1,"method":"ping"',
    '{"jsonrpc":"1.0","id":1,"method":"ping"}',
    '{"id":1,"method":"ping"}',
    '"ping"',
    "",
  ]) {
    assert.equal(mcpRequestFacts(body(text)), undefined, text);
  }
});

test("names spans by method and tool or prompt, and a resource's spans by their method alone", () => {
  assert.equal(
    spanName({ method: "tools/call", toolName: "get_weather", promptName: undefined }),
    "tools/call get_weather",
  );
  assert.equal(
    spanName({ method: "prompts/get", toolName: undefined, promptName: "review" }),
    "prompts/get review",
  );
  const read = mcpRequestFacts(
    body('{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}'),
  );
  assert.ok(read !== undefined);
  assert.equal(spanName(read), "resources/read");
  assert.equal(spanName({ method: "tools/list", toolName: undefined, promptName: undefined }), "tools/list");
});
