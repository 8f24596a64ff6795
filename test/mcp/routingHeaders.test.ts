import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import type { Message } from "../../src/jsonrpc/jsonRpcCall.ts";
import { headersDisagree } from "../../src/jsonrpc/routingHeaders.ts";

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28" };
/** A request of MCP 2026-07-28 (its `_meta` claims the revision) calling `method` with `params`. */
const modern = (method: string, params: Record<string, unknown> = {}): Message =>
  ({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: envelope } }) as Message;
/** The headers the SDK 2.x client sends with such a request, plus `more`. */
const sent = (method: string, more: IncomingHttpHeaders = {}): IncomingHttpHeaders => ({
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": method,
  ...more,
});
const b64 = (text: string) => `=?base64?${Buffer.from(text).toString("base64")}?=`;

describe("the -32020 routing-header check knows the SDK 2.4.0's Mcp-Name table (SPEC §8.1)", () => {
  const rows: [string, string][] = [
    ["tools/call", "name"],
    ["prompts/get", "name"],
    ["resources/read", "uri"],
    ["tasks/get", "taskId"],
    ["tasks/update", "taskId"],
    ["tasks/cancel", "taskId"],
  ];
  for (const [method, field] of rows) {
    it(`compares Mcp-Name with params.${field} for ${method}`, () => {
      const message = modern(method, { name: "other", [field]: "a-1" });
      assert.equal(headersDisagree(sent(method, { "mcp-name": "a-1" }), [message]), undefined);
      assert.match(String(headersDisagree(sent(method, { "mcp-name": "b-2" }), [message])), /Mcp-Name/);
      assert.match(String(headersDisagree(sent(method), [message])), /Mcp-Name header is absent/);
    });
  }

  it("forwards a method not in the table unchecked, whatever Mcp-Name says", () => {
    const listen = modern("subscriptions/listen", { name: "x" });
    assert.equal(headersDisagree(sent("subscriptions/listen", { "mcp-name": "y" }), [listen]), undefined);
    const subscribe = modern("resources/subscribe", { uri: "file:///a" });
    assert.equal(
      headersDisagree(sent("resources/subscribe", { "mcp-name": "file:///b" }), [subscribe]),
      undefined,
    );
  });

  it("requires Mcp-Name only when the body carries its field as a string", () => {
    assert.equal(headersDisagree(sent("tools/call"), [modern("tools/call", { name: 5 })]), undefined);
    assert.equal(headersDisagree(sent("tools/call", { "mcp-name": "x" }), [modern("tools/call")]), undefined);
  });

  it("trims optional whitespace and decodes the lowercase base64 sentinel only", () => {
    const message = modern("tools/call", { name: "café" });
    assert.equal(
      headersDisagree(sent(" tools/call\t", { "mcp-name": `\t${b64("café")} ` }), [message]),
      undefined,
    );
    const upper = `=?BASE64?${Buffer.from("café").toString("base64")}?=`;
    assert.match(
      String(headersDisagree(sent("tools/call", { "mcp-name": upper }), [message])),
      /does not match/,
    );
    const invalid = modern("tools/call", { name: "=?base64?***?=" });
    assert.match(
      String(headersDisagree(sent("tools/call", { "mcp-name": "=?base64?***?=" }), [invalid])),
      /Base64/,
    );
  });

  it("requires MCP-Protocol-Version and Mcp-Method to match the body of a 2026-07-28 request", () => {
    const message = modern("tools/list");
    assert.equal(headersDisagree(sent("tools/list"), [message]), undefined);
    assert.match(String(headersDisagree({ "mcp-method": "tools/list" }, [message])), /MCP-Protocol-Version/);
    assert.match(
      String(headersDisagree(sent("tools/list", { "mcp-protocol-version": "2026-09-01" }), [message])),
      /version/,
    );
    assert.match(String(headersDisagree({ "mcp-protocol-version": "2026-07-28" }, [message])), /Mcp-Method/);
    assert.match(String(headersDisagree(sent("tools/call"), [message])), /Mcp-Method does not match/);
  });

  it("leaves earlier-era requests (no modern claim) and notifications unchecked", () => {
    const legacy = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "a" } } as Message;
    assert.equal(headersDisagree({ "mcp-method": "tools/list", "mcp-name": "b" }, [legacy]), undefined);
    const older = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "a", _meta: { "io.modelcontextprotocol/protocolVersion": "2025-11-25" } },
    } as Message;
    assert.equal(headersDisagree({ "mcp-name": "b" }, [older]), undefined);
    const cancelled = {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 1, _meta: envelope },
    } as Message;
    assert.equal(headersDisagree({ "mcp-protocol-version": "2026-07-28" }, [cancelled]), undefined);
  });
});
