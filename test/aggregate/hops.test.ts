import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { modernRevision } from "../../src/health/discoverEra.ts";
import { startUpstream } from "../support/upstream.ts";
import {
  closeAll,
  closeLater,
  earlier,
  earlierClient,
  hopOf,
  modern,
  modernHeaders,
  modernMeta,
  planner,
  poolAt,
  sdk1,
  sdk2,
} from "./hopCases.ts";
import { answerText, sendOnHop, toolCall } from "./hopRig.ts";

after(closeAll);

describe("hops: the era of each call to a server", () => {
  it("a modern client's call to a modern-only or dual server passes through, sessionless and balanced", async () => {
    for (const legacy of ["reject", "stateless"] as const) {
      const server = await sdk2(`m-${legacy}`, legacy);
      // an SDK 2.x server serving the earlier era too lists only 2026-07-28 in server/discover: "dual" is told
      const { pool, poolClient } = poolAt("math", [server.url], [legacy === "reject" ? undefined : "dual"]);
      const hop = hopOf(await planner(poolClient).hop(pool, modern));
      assert.deepEqual(
        { ...hop, sessionLost: hop.sessionLost === undefined },
        {
          bound: undefined,
          setHeaders: {},
          dropHeaders: ["mcp-session-id"],
          metaEnvelope: undefined,
          addsResultType: false,
          sessionLost: true,
        },
      );
      const { message, headers } = toolCall(1, "whoami");
      const call = { ...message, params: { ...message.params, _meta: modernMeta } };
      const answer = await sendOnHop(poolClient, pool, hop, call, { ...headers, ...modernHeaders });
      assert.equal(answerText(answer), `m-${legacy}`);
      assert.equal(poolClient.of("initialize").length, 0);
    }
  });

  it("an earlier-era client's call to an earlier-era server goes on its own session, opened with its own initialize params", async () => {
    const server = await sdk1("notes");
    const { pool, upstreams, poolClient } = poolAt("notes", [server.url]);
    const hops = planner(poolClient);
    const client = earlierClient("claude-ish");
    const hop = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(hop.bound, upstreams[0]);
    assert.equal(hop.addsResultType, false);
    assert.equal(hop.metaEnvelope, undefined);
    assert.deepEqual(hop.dropHeaders, ["mcp-session-id"]);
    assert.equal(hop.setHeaders["MCP-Protocol-Version"], "2025-06-18");
    assert.match(hop.setHeaders["Mcp-Session-Id"] ?? "", /^[0-9a-f-]{36}$/);
    const [initialize] = poolClient.of("initialize");
    assert.deepEqual(initialize?.params, { protocolVersion: "2025-06-18", ...client.initializeParams });
    assert.equal(poolClient.of("notifications/initialized").length, 1);
    assert.equal(
      poolClient.of("notifications/initialized")[0]?.headers["Mcp-Session-Id"],
      hop.setHeaders["Mcp-Session-Id"],
    );
    const { message, headers } = toolCall(1, "whoami");
    const answer = await sendOnHop(poolClient, pool, hop, message, {
      ...headers,
      "mcp-session-id": "bw1.token",
    });
    assert.deepEqual(JSON.parse(answerText(answer)), {
      server: "notes",
      client: "claude-ish",
      capabilities: client.initializeParams["capabilities"],
    });
    // the next call of the same client reuses it; another client gets its own
    const again = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(again.setHeaders["Mcp-Session-Id"], hop.setHeaders["Mcp-Session-Id"]);
    const other = hopOf(await hops.hop(pool, earlier(earlierClient("other"))));
    assert.notEqual(other.setHeaders["Mcp-Session-Id"], hop.setHeaders["Mcp-Session-Id"]);
    assert.equal(poolClient.of("initialize").length, 2);
    assert.equal(hops.sessions, 2);
  });

  it("an earlier-era client's call to a dual server goes on its own session, sessionless when the server keeps none", async () => {
    const server = await sdk2("dual", "stateless");
    const { pool, upstreams, poolClient } = poolAt("dual", [server.url], ["dual"]);
    const hops = planner(poolClient);
    const hop = hopOf(await hops.hop(pool, earlier(earlierClient())));
    assert.equal(hop.bound, upstreams[0]);
    assert.equal(hop.metaEnvelope, undefined);
    assert.equal(hop.setHeaders["Mcp-Session-Id"], undefined);
    assert.equal(typeof hop.setHeaders["MCP-Protocol-Version"], "string");
    const { message } = toolCall(1, "whoami");
    assert.equal(answerText(await sendOnHop(poolClient, pool, hop, message)), "dual");
    await hops.hop(pool, earlier(earlierClient()));
    assert.equal(poolClient.of("initialize").length, 2, "one per client session");
  });

  it("a modern client's call to an earlier-only server goes on one shared session Breakwater opens without capabilities, and gets resultType", async () => {
    const server = await sdk1("legacy");
    const { pool, upstreams, poolClient } = poolAt("legacy", [server.url]);
    const hops = planner(poolClient);
    const first = hopOf(await hops.hop(pool, modern));
    const second = hopOf(await hops.hop(pool, { era: "modern", meta: modernMeta }));
    assert.equal(first.bound, upstreams[0]);
    assert.equal(first.addsResultType, true);
    assert.equal(first.setHeaders["Mcp-Session-Id"], second.setHeaders["Mcp-Session-Id"]);
    assert.notEqual(first.setHeaders["MCP-Protocol-Version"], modernRevision);
    const initializes = poolClient.of("initialize");
    assert.equal(initializes.length, 1);
    assert.deepEqual(initializes[0]?.params?.["capabilities"], {});
    assert.deepEqual(initializes[0]?.params?.["clientInfo"], { name: "breakwater", version: "1" });
    const { message, headers } = toolCall(1, "whoami");
    const answer = await sendOnHop(poolClient, pool, first, message, { ...headers, ...modernHeaders });
    assert.deepEqual(JSON.parse(answerText(answer)), {
      server: "legacy",
      client: "breakwater",
      capabilities: {},
    });
  });

  it("an earlier-era client's call to a modern-only server carries the 2026-07-28 _meta envelope of its session", async () => {
    const server = await sdk2("modern-only", "reject");
    const { pool, poolClient } = poolAt("math", [server.url]);
    const client = earlierClient("claude-ish");
    const hop = hopOf(await planner(poolClient).hop(pool, earlier(client)));
    assert.deepEqual(hop.metaEnvelope, {
      "io.modelcontextprotocol/protocolVersion": modernRevision,
      "io.modelcontextprotocol/clientInfo": client.initializeParams["clientInfo"],
      "io.modelcontextprotocol/clientCapabilities": client.initializeParams["capabilities"],
    });
    assert.deepEqual(hop.setHeaders, { "MCP-Protocol-Version": modernRevision });
    assert.deepEqual(hop.dropHeaders, ["mcp-session-id"]);
    assert.equal(hop.bound, undefined);
    const { message, headers } = toolCall(1, "whoami");
    const clientHeaders = { ...headers, "mcp-session-id": "bw1.token", "mcp-protocol-version": "2025-06-18" };
    assert.equal(answerText(await sendOnHop(poolClient, pool, hop, message, clientHeaders)), "modern-only");
    assert.equal(poolClient.of("initialize").length, 0);
  });
});

describe("hops: a server whose upstreams speak different eras (a rolling upgrade)", () => {
  it("sends each client's call to an upstream that serves its era", async () => {
    const [now, before] = [await sdk2("upgraded", "reject"), await sdk1("not-yet")];
    // failover: the first that serves the caller's era is chosen, the other era's skipped
    const { pool, upstreams, poolClient } = poolAt("notes", [now.url, before.url], ["modern", "earlier"]);
    const hops = planner(poolClient);
    const modernHop = hopOf(await hops.hop(pool, modern));
    assert.equal(modernHop.bound, upstreams[0]);
    assert.deepEqual(modernHop.setHeaders, {});
    const earlierHop = hopOf(await hops.hop(pool, earlier(earlierClient())));
    assert.equal(earlierHop.bound, upstreams[1]);
    assert.equal(poolClient.of("initialize")[0]?.upstream, "notes-2");
    const { message, headers } = toolCall(1, "whoami");
    const answer = await sendOnHop(poolClient, pool, earlierHop, message, headers);
    assert.equal(JSON.parse(answerText(answer)).server, "not-yet");
  });
});

describe("hops: what an upstream says when a session opens", () => {
  /** An upstream that answers `initialize` with `sessionId` and `version`, and 202 to anything else. */
  async function answering(sessionId: string, version: string) {
    const upstream = await startUpstream((_req, res, body) => {
      const message = JSON.parse(body) as { id?: unknown; method: string };
      if (message.method !== "initialize") return void res.writeHead(202).end();
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": sessionId });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { protocolVersion: version } }));
    });
    closeLater(() => upstream.close());
    const { pool, poolClient } = poolAt("odd", [upstream.url], ["earlier"]);
    return planner(poolClient).hop(pool, earlier(earlierClient()));
  }

  it("refuses a session id that is not visible ASCII or is over 1,024 characters", async () => {
    for (const id of ["a b", "ä", "x".repeat(1_025)])
      assert.deepEqual(await answering(id, "2025-06-18"), { refused: true, reason: "session_failed" }, id);
    assert.equal(
      hopOf(await answering("x".repeat(1_024), "2025-06-18")).setHeaders["Mcp-Session-Id"]?.length,
      1_024,
    );
  });

  it("sends the client's version on when the upstream answers one that is not a version", async () => {
    const hop = hopOf(await answering("s-1", "latest and greatest"));
    assert.equal(hop.setHeaders["MCP-Protocol-Version"], "2025-06-18");
    assert.equal(
      hopOf(await answering("s-2", "2025-03-26")).setHeaders["MCP-Protocol-Version"],
      "2025-03-26",
    );
  });
});
