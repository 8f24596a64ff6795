import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { AggregateEndpoint } from "../../src/aggregate/AggregateEndpoint.ts";
import type { Call } from "../../src/proxy/Call.ts";
import type { PoolSend } from "../../src/proxy/Endpoint.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import { FakeLists, FakePoolClient, FakeSessions, plainHop } from "./endpointFakes.ts";

/**
 * A routed call's way through the endpoint when nothing need be awaited (a modern client's call whose
 * hop is planned at once): the aggregate's steps run in the proxy's turn and the pool's promise is the
 * one the proxy awaits — no async frame of the aggregate's own per call (what bench:aggregate counts).
 */

const pool = {
  name: "notes",
  calls: { read: (): Call => ({ judge: () => ({ head: () => "success" }) as never }) },
} as unknown as ServerPool;

function endpoint(): AggregateEndpoint {
  return new AggregateEndpoint({
    route: "/mcp",
    pools: new Map([["notes", pool]]),
    lists: new FakeLists(["notes"]),
    hops: { hop: () => plainHop(), ended() {} },
    sessions: new FakeSessions(),
    poolClient: new FakePoolClient(),
  });
}

const meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}';
/** A 2026-07-28 client's POST of a tools/call of `name`, its headers saying so. */
const request = (name: string) =>
  ({
    method: "POST",
    headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name },
    rawHeaders: ["MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", name],
    socket: { remoteAddress: "127.0.0.1" },
  }) as unknown as IncomingMessage;

describe("a routed call planned at once", () => {
  it("hands the proxy the pool's own promise, the call already sent on with its prefix off", () => {
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add",${meta}}}`,
    );
    const pending = Promise.resolve();
    const sent: Buffer[] = [];
    const send: PoolSend = (_pool, _req, _res, request) => {
      sent.push(request.body as Buffer);
      return pending;
    };
    const served = endpoint().serve(request("notes__add"), {} as ServerResponse, "", body, send);
    assert.equal(served, pending);
    assert.equal(JSON.parse(String(sent[0])).params.name, "add");
  });

  it("answers a name no server has itself, with the client's id as it wrote it", async () => {
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":1.50,"method":"tools/call","params":{"name":"nobody__add",${meta}}}`,
    );
    let written = "";
    const res = {
      writeHead: () => res,
      end: (text: string) => {
        written = text;
      },
    } as unknown as ServerResponse;
    const send: PoolSend = () => assert.fail("nothing is sent on");
    await endpoint().serve(request("nobody__add"), res, "", body, send);
    assert.match(written, /^\{"jsonrpc":"2\.0","id":1\.50,"error":\{"code":-32602/);
  });
});
