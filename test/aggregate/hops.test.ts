import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Caller, ClientSession, Hop, NoHop, UpstreamEra } from "../../src/aggregate/contracts.ts";
import { UpstreamSessions } from "../../src/aggregate/UpstreamSessions.ts";
import { modernRevision } from "../../src/health/discoverEra.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { startSdk2Server } from "../support/sdk2.ts";
import { startUpstream } from "../support/upstream.ts";
import {
  answerText,
  type Sdk1SessionServer,
  StandInPoolClient,
  sendOnHop,
  startSdk1SessionServer,
  toolCall,
} from "./hopRig.ts";

const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close();
});

/** A server's pool of upstreams at `urls` (one FakeUpstream each, for its name and circuit). */
function poolAt(name: string, urls: readonly string[], eras: readonly (UpstreamEra | undefined)[] = []) {
  const upstreams = urls.map((_, i) => new FakeUpstream(`${name}-${i + 1}`));
  const pool = barePool({ name, route: `/${name}`, upstreams, loadBalancing: "failover" });
  const urlOf = new Map<Upstream, string>(upstreams.map((u, i) => [u, urls[i] as string]));
  const known = new Map<Upstream, UpstreamEra>();
  eras.forEach((era, i) => {
    if (era !== undefined) known.set(upstreams[i] as Upstream, era);
  });
  return { pool, upstreams, poolClient: new StandInPoolClient(urlOf, known) };
}

function planner(
  poolClient: StandInPoolClient,
  options: Partial<ConstructorParameters<typeof UpstreamSessions>[0]> = {},
) {
  return new UpstreamSessions({ poolClient, logger: capturedLog().logger, ...options });
}

let sessions = 0;
/** An earlier-era client's session with the aggregate, as its token would carry it. */
function earlierClient(name = "claude-ish"): ClientSession {
  return {
    id: `client-${++sessions}`.padEnd(16, "x"),
    protocolVersion: "2025-06-18",
    initializeParams: {
      capabilities: { sampling: {}, roots: { listChanged: true } },
      clientInfo: { name, version: "1.0.0" },
    },
  };
}

const modern: Caller = { era: "modern", meta: undefined };
const earlier = (session: ClientSession): Caller => ({ era: "earlier", session });
/** The client headers and `_meta` a 2026-07-28 client sends with each call. */
const modernHeaders = { "mcp-protocol-version": modernRevision };
const modernMeta = {
  "io.modelcontextprotocol/protocolVersion": modernRevision,
  "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "2.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function isHop(hop: Hop | NoHop): hop is Hop {
  return !("refused" in hop);
}

function hopOf(hop: Hop | NoHop): Hop {
  assert.ok(isHop(hop), `a hop, not ${JSON.stringify(hop)}`);
  return hop;
}

async function sdk1(name: string): Promise<Sdk1SessionServer> {
  const server = await startSdk1SessionServer(name);
  closing.push(() => server.close());
  return server;
}

async function sdk2(name: string, legacy: "stateless" | "reject") {
  const server = await startSdk2Server(name, { legacy });
  closing.push(() => server.close());
  return server;
}

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

describe("hops: upstream sessions lost and re-opened", () => {
  it("an earlier-era client's session survives a restart of its upstream: one new session with its own params, the call sent once there", async () => {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const hops = planner(poolClient);
    const client = earlierClient("claude-ish");
    const hop = hopOf(await hops.hop(pool, earlier(client)));
    const { message } = toolCall(1, "whoami");
    assert.equal((await sendOnHop(poolClient, pool, hop, message)).kind, "answer");
    await server.restart();
    // two calls in flight both meet the restarted upstream's 404
    const [lostA, lostB] = await Promise.all([
      sendOnHop(poolClient, pool, hop, message),
      sendOnHop(poolClient, pool, hop, message),
    ]);
    assert.equal(lostA.kind === "answer" && lostA.status, 404);
    assert.equal(lostB.kind === "answer" && lostB.status, 404);
    const [nextA, nextB] = await Promise.all([hop.sessionLost?.(), hop.sessionLost?.()]);
    assert.ok(nextA !== undefined && nextB !== undefined);
    assert.equal(nextA.setHeaders["Mcp-Session-Id"], nextB.setHeaders["Mcp-Session-Id"]);
    assert.notEqual(nextA.setHeaders["Mcp-Session-Id"], hop.setHeaders["Mcp-Session-Id"]);
    const initializes = poolClient.of("initialize");
    assert.equal(initializes.length, 2, "one new session for both calls");
    assert.deepEqual(initializes[1]?.params, { protocolVersion: "2025-06-18", ...client.initializeParams });
    assert.equal(hops.lostSessions, 1);
    const answer = await sendOnHop(poolClient, pool, nextA, message);
    assert.equal(JSON.parse(answerText(answer)).client, "claude-ish");
    assert.equal(server.sessions(), 1);
    // and later calls of the client go to the new session
    const later = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(later.setHeaders["Mcp-Session-Id"], nextA.setHeaders["Mcp-Session-Id"]);
  });

  it("a modern client's shared session is re-opened the same way when its upstream restarts", async () => {
    const server = await sdk1("legacy");
    const { pool, poolClient } = poolAt("legacy", [server.url]);
    const hops = planner(poolClient);
    const hop = hopOf(await hops.hop(pool, modern));
    await server.restart();
    const { message } = toolCall(1, "whoami");
    const lost = await sendOnHop(poolClient, pool, hop, message);
    assert.equal(lost.kind === "answer" && lost.status, 404);
    const next = await hop.sessionLost?.();
    assert.ok(next !== undefined);
    assert.equal(next.addsResultType, true);
    assert.equal(
      JSON.parse(answerText(await sendOnHop(poolClient, pool, next, message))).client,
      "breakwater",
    );
    assert.equal(poolClient.of("initialize").length, 2);
  });

  it("opens a client's session once however many of its calls ask at the same time", async () => {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const hops = planner(poolClient);
    const client = earlierClient();
    const all = await Promise.all(Array.from({ length: 8 }, () => hops.hop(pool, earlier(client))));
    const ids = new Set(all.map((hop) => hopOf(hop).setHeaders["Mcp-Session-Id"]));
    assert.equal(ids.size, 1);
    assert.equal(poolClient.of("initialize").length, 1);
    assert.equal(server.sessions(), 1);
  });

  it("a session whose upstream's circuit stops admitting is re-opened on another that admits; none admitting is circuit_open", async () => {
    const [a, b] = [await sdk1("notes-a"), await sdk1("notes-b")];
    const { pool, upstreams, poolClient } = poolAt("notes", [a.url, b.url]);
    const hops = planner(poolClient);
    const client = earlierClient();
    const first = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(first.bound, upstreams[0]);
    upstreams[0]?.circuit.forceOpen();
    const second = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(second.bound, upstreams[1]);
    assert.equal(hops.lostSessions, 1);
    const { message } = toolCall(1, "whoami");
    assert.equal(
      JSON.parse(answerText(await sendOnHop(poolClient, pool, second, message))).server,
      "notes-b",
    );
    upstreams[1]?.circuit.forceOpen();
    const none = await hops.hop(pool, earlier(client));
    assert.equal(isHop(none), false);
    assert.equal((none as NoHop).reason, "circuit_open");
    assert.ok(((none as NoHop).retryAfterMs ?? 0) > 0);
  });

  it("a session that cannot be opened is session_failed, and sessionLost then gives no hop", async () => {
    // a modern-only server taken for an earlier one: its initialize is refused (-32022)
    const server = await sdk2("modern-only", "reject");
    const { pool, poolClient } = poolAt("math", [server.url], ["earlier"]);
    const hops = planner(poolClient);
    assert.deepEqual(await hops.hop(pool, earlier(earlierClient())), {
      refused: true,
      reason: "session_failed",
    });
    assert.equal(hops.sessions, 0);
    const notes = await sdk1("notes");
    const rig = poolAt("notes", [notes.url]);
    const rigHops = planner(rig.poolClient);
    const hop = hopOf(await rigHops.hop(rig.pool, earlier(earlierClient())));
    rig.upstreams[0]?.circuit.forceOpen();
    assert.equal(await hop.sessionLost?.(), undefined);
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
    closing.push(() => upstream.close());
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

describe("hops: how long upstream sessions live", () => {
  /** A planner over one SDK 1.x server, on manual time, closing sessions with a real DELETE. */
  async function timedRig(options: { maxSessions?: number; idleMs?: number } = {}) {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const timers = new ManualTimers();
    const closed: string[] = [];
    const hops = planner(poolClient, {
      timers,
      ...options,
      closeSession: (upstream, headers) => {
        closed.push(`${upstream.name} ${headers["Mcp-Session-Id"]}`);
        void fetch(server.url, { method: "DELETE", headers: { ...headers } }).then((r) => r.body?.cancel());
      },
    });
    return { server, pool, poolClient, timers, closed, hops };
  }

  const idleMs = 600_000;

  it("closes an upstream session unused for its idle time, and not one that was used", async () => {
    const { server, pool, timers, closed, hops } = await timedRig();
    const client = earlierClient();
    const hop = hopOf(await hops.hop(pool, earlier(client)));
    await timers.advance(idleMs - 1);
    assert.equal(hops.sessions, 1);
    hopOf(await hops.hop(pool, earlier(client))); // used: its idle time starts over
    await timers.advance(idleMs - 1);
    assert.equal(hops.sessions, 1);
    await timers.advance(1);
    assert.equal(hops.sessions, 0);
    assert.deepEqual(closed, [`notes-1 ${hop.setHeaders["Mcp-Session-Id"]}`]);
    await waitFor(() => server.sessions() === 0);
    assert.equal(timers.pending, 0, "no timer left without sessions");
  });

  it("holds at most maxSessions, closing the least recently used", async () => {
    const { pool, closed, hops } = await timedRig({ maxSessions: 2 });
    const [a, b, c] = [earlierClient(), earlierClient(), earlierClient()];
    const hopA = hopOf(await hops.hop(pool, earlier(a)));
    await hops.hop(pool, earlier(b));
    await hops.hop(pool, earlier(a)); // a used again: b is the least recently used
    const hopB = hopOf(await hops.hop(pool, earlier(b)));
    await hops.hop(pool, earlier(a));
    await hops.hop(pool, earlier(c));
    assert.equal(hops.sessions, 2);
    assert.deepEqual(closed, [`notes-1 ${hopB.setHeaders["Mcp-Session-Id"]}`]);
    assert.notEqual(hopA.setHeaders["Mcp-Session-Id"], hopB.setHeaders["Mcp-Session-Id"]);
  });

  it("closes every upstream session at shutdown, leaving no timer", async () => {
    const { pool, timers, closed, hops } = await timedRig();
    await hops.hop(pool, earlier(earlierClient()));
    await hops.hop(pool, modern);
    assert.equal(hops.sessions, 2);
    hops.close();
    assert.equal(hops.sessions, 0);
    assert.equal(closed.length, 2);
    assert.equal(timers.pending, 0);
  });

  it("a client that ends its session has its upstream sessions closed, one still opening included", async () => {
    const [notes, files] = [await sdk1("notes"), await sdk1("files")];
    const rigNotes = poolAt("notes", [notes.url]);
    const filesUpstream = new FakeUpstream("files-1");
    const filesPool: ServerPool = barePool({ name: "files", route: "/files", upstreams: [filesUpstream] });
    const poolClient = new StandInPoolClient(
      new Map<Upstream, string>([
        [rigNotes.upstreams[0] as Upstream, notes.url],
        [filesUpstream, files.url],
      ]),
    );
    const closed: string[] = [];
    const hops = planner(poolClient, { closeSession: (upstream) => closed.push(upstream.name) });
    const client = earlierClient();
    await hops.hop(rigNotes.pool, earlier(client));
    const opening = hops.hop(filesPool, earlier(client));
    hops.ended(client);
    assert.deepEqual(closed, ["notes-1"]);
    assert.deepEqual(await opening, { refused: true, reason: "session_failed" });
    assert.deepEqual(closed, ["notes-1", "files-1"]);
    assert.equal(hops.sessions, 0);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const { until } = await import("../support/until.ts");
  await until(condition, "the server to end the session");
}
