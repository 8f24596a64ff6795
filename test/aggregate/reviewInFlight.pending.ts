import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { until } from "../support/until.ts";
import { startUpstream } from "../support/upstream.ts";
import { opened, poolRig } from "./poolClientRig.ts";

// Pending (not fixed): Breakwater's own watch of a server (a standing `subscriptions/listen`, or an
// earlier-era GET stream) is dispatched like any request, so it holds one of the upstream's
// `max_in_flight` slots for as long as it stands. With `max_in_flight = 1` the watch takes the only
// slot: every other request to that upstream — the server's own route and the aggregate's calls — is
// refused as overloaded while it stands.

describe("the aggregate's watch and an upstream's max_in_flight (review of SPEC §7.2, pending)", () => {
  it("a standing listen of Breakwater's own leaves a max_in_flight = 1 upstream free for calls", async () => {
    const upstream = await startUpstream((_req, res, body) => {
      const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
      if (body.includes('"subscriptions/listen"')) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":${id}}}}\n\n`,
        );
        return; // stands
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`{"jsonrpc":"2.0","id":${id},"result":{"tools":[]}}`);
    });
    opened.push(() => upstream.close());
    const rig = poolRig([upstream.url], {
      make: (u, circuit) => new HttpUpstream({ ...u, maxInFlight: 1 }, circuit, 5_000),
    });
    const stop = new AbortController();
    let acknowledged = false;
    const listen = { jsonrpc: "2.0", id: 1, method: "subscriptions/listen", params: { notifications: {} } };
    const standing = rig.client.request(rig.pool, listen, {
      timeoutMs: 600_000,
      signal: stop.signal,
      onMessage: () => {
        acknowledged = true;
      },
    });
    try {
      await until(() => acknowledged, "the listen acknowledged");
      const list = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} };
      const answer = await rig.client.request(rig.pool, list, { timeoutMs: 5_000 });
      assert.equal(answer.kind, "answer", `a call while the watch stands: ${answer.kind}`);
    } finally {
      stop.abort();
      await standing;
    }
  });
});
