import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { startUpstream } from "../support/upstream.ts";
import { mcpPool, modernRequest, plainHop, startAggregate } from "./endpointFakes.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("calls through the aggregate, a client's headers (review of SPEC §7.2)", () => {
  it("a client that accepts gzip still gets its answers rewritten: a server's request refused for a modern client, URIs prefixed", async () => {
    // a server that compresses whenever the request allows it (as express's compression middleware does)
    const upstream = await startUpstream((req, res, body) => {
      const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
      const events =
        'event: message\ndata: {"jsonrpc":"2.0","id":"s1","method":"elicitation/create","params":{}}\n\n' +
        `event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"resource_link","uri":"file:///a","name":"a"}]}}\n\n`;
      const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      res.writeHead(200, {
        "content-type": "text/event-stream",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
      });
      res.end(gzip ? gzipSync(events) : events);
    });
    opened.push(() => upstream.close());
    const pool = mcpPool("notes", [upstream.url]);
    const rig = await startAggregate([pool.pool]);
    opened.push(() => rig.close());
    rig.hops.plan = () => plainHop({ setHeaders: { "Mcp-Session-Id": "shared-1" } });
    const call = modernRequest(7, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, { ...call.headers, "accept-encoding": "gzip" });
    assert.equal(reply.headers["content-encoding"], undefined, "the answer passed compressed, unread");
    assert.doesNotMatch(reply.text, /elicitation/);
    assert.match(reply.text, /"uri":"notes\+file:\/\/\/a"/);
    assert.equal(rig.poolClient.sent.length, 1, "the server's request was not refused: it waits");
  });
});

describe("an answer too large to hold (review of SPEC §7.2)", () => {
  it("an event stream's one event too large to hold passes, and the events after it are still rewritten", async () => {
    const big = "x".repeat(9 * 1024 * 1024); // past the 8 MiB one event may be held for
    const upstream = await startUpstream((_req, res, body) => {
      const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(
        `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${big}"}}\n\n`,
      );
      res.write(
        'event: message\ndata: {"jsonrpc":"2.0","id":"s1","method":"elicitation/create","params":{}}\n\n',
      );
      res.end(`event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{"content":[]}}\n\n`);
    });
    opened.push(() => upstream.close());
    const pool = mcpPool("notes", [upstream.url]);
    const rig = await startAggregate([pool.pool]);
    opened.push(() => rig.close());
    rig.hops.plan = () => plainHop({ setHeaders: { "Mcp-Session-Id": "shared-1" } });
    const call = modernRequest(8, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.ok(reply.text.includes(big), "the large event passes as it came");
    assert.doesNotMatch(reply.text, /elicitation/, "the server's request after it reached a modern client");
    assert.equal(rig.poolClient.sent.length, 1, "the server's request was not refused: it waits");
    assert.match(reply.text, /"id":8,"result":\{"content":\[\]\}/);
  });
});
