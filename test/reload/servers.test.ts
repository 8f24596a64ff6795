import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ManualClock } from "../support/ManualClock.ts";
import { type ServerToml, serversToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { type Handler, startUpstream, type TestUpstream } from "../support/upstream.ts";
import { cleanup, reloadable } from "./reloadRig.ts";

after(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** The JSON-RPC result of a `tools/call`, naming who answered. */
function answer(res: ServerResponse, body: string, name: string): void {
  const { id } = JSON.parse(body) as { id: unknown };
  const result = { content: [{ type: "text", text: name }] };
  res.writeHead(200, { "content-type": "application/json", "x-upstream": name });
  res.end(JSON.stringify({ jsonrpc: "2.0", id, result }));
}

async function upstream(handler: Handler): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  cleanup.push(() => u.close());
  return u;
}

let ids = 0;
/** A `tools/call` of `tool` on `url`: its status and body, or the error that stopped it (never a 200). */
async function call(url: string, tool = "work"): Promise<{ status: number | string; text: string }> {
  try {
    const res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++ids, method: "tools/call", params: { name: tool } }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (error) {
    return { status: `error: ${(error as Error).message}`, text: "" };
  }
}

interface Health {
  circuit_breakers: Record<string, { state: string; total_requests: number }>;
  servers: Record<string, { status: string; upstreams: string[] }>;
}

async function health(adminUrl: string): Promise<Health> {
  return (await (await request(`${adminUrl}/health`)).body.json()) as Health;
}

const clients = 32;

describe("reload adds and removes servers under load (SPEC §7.1, §6.3)", () => {
  it("loses no request: /a answers 200 throughout, every /b request sent before the swap (and the one held open) is answered 200, /b is 404 after and /c 200, a keeps its circuit and connections, b's connections close once idle", async () => {
    // a answers at once, remembering which connection each request came on
    const socketsOfA: Socket[] = [];
    const a = await upstream((req, res, body) => {
      socketsOfA.push(req.socket);
      answer(res, body, "a");
    });
    // b answers at once, except its `hold` call (until released) and, while `gated`, every call
    let gated = false;
    const heldByGate: (() => void)[] = [];
    let releaseHold: () => void = () => assert.fail("the hold call never reached b");
    const socketsOfB = new Set<Socket>();
    const b = await upstream((req, res, body) => {
      socketsOfB.add(req.socket);
      const reply = () => answer(res, body, "b");
      if ((JSON.parse(body) as { params: { name: string } }).params.name === "hold") releaseHold = reply;
      else if (gated) heldByGate.push(reply);
      else reply();
    });
    const c = await upstream((_req, res, body) => answer(res, body, "c"));
    const config = (servers: ServerToml[]) => `[proxy.health_check]\nkind = "none"\n${serversToml(servers)}`;
    const serverA: ServerToml = { name: "a", route: "/a", upstreams: [{ url: a.url }] };
    // the breakers' clock stands still (their windows never roll: a circuit's counts are all it saw)
    const proxy = await reloadable(
      config([serverA, { name: "b", route: "/b", upstreams: [{ url: b.url }] }]),
      { clock: new ManualClock(1_000_000) },
    );
    const upstreamA = proxy.breakwater.upstreams.find((u) => u.name === "a-1");
    const circuitA = proxy.breakwater.circuits.get("a-1")?.breaker;
    assert.ok(upstreamA !== undefined && circuitA !== undefined);

    const held = call(`${proxy.url}/b`, "hold");
    let heldSettled = false;
    void held.then(() => {
      heldSettled = true;
    });
    await until(() => b.seen.length === 1, "b holds the long call");

    let swapped = false;
    const statusesOfA: (number | string)[] = [];
    let aAfterSwap = 0;
    const socketsOfABeforeSwap = new Set<Socket>();
    const loopA = async () => {
      let mine = 0;
      for (let i = 0; i < 2_000 && mine < 5; i++) {
        const sentAfterSwap = swapped;
        statusesOfA.push((await call(`${proxy.url}/a`)).status);
        if (sentAfterSwap) {
          mine++;
          aAfterSwap++;
        }
      }
    };
    const repliesOfB: { sentAfterSwap: boolean; status: number | string; text: string }[] = [];
    const loopB = async () => {
      for (let i = 0; i < 2_000; i++) {
        const sentAfterSwap = swapped;
        const reply = await call(`${proxy.url}/b`);
        repliesOfB.push({ sentAfterSwap, ...reply });
        if (sentAfterSwap) return; // its first request after the swap is its last
      }
    };
    const loops = [...Array.from({ length: clients }, loopA), ...Array.from({ length: clients }, loopB)];
    const loopsEnded = Promise.all(loops);

    // under load, b starts holding calls: once every /b client has its call at b, none is on its way
    await until(
      () => repliesOfB.length >= 2 * clients && statusesOfA.length >= 2 * clients,
      "load on /a and /b",
    );
    gated = true;
    await until(() => heldByGate.length === clients, "every /b client's call held at b");
    for (const socket of socketsOfA) socketsOfABeforeSwap.add(socket);
    const callsOfAAtSwap = socketsOfA.length;
    const seenByB = b.seen.length;
    const totalOfA = (await health(proxy.adminUrl)).circuit_breakers["a-1"]?.total_requests ?? 0;
    assert.ok(totalOfA > 0);

    const logged = proxy.reloadWith(
      config([serverA, { name: "c", route: "/c", upstreams: [{ url: c.url }] }]),
    );
    swapped = true;
    const reloaded = logged.find((l) => l["msg"] === "config reloaded");
    assert.deepEqual(reloaded?.["servers"], { added: ["c"], removed: ["b"], changed: [] });
    assert.deepEqual(reloaded?.["upstreams"], {
      added: ["c-1"],
      removed: ["b-1"],
      rebuilt: [],
      kept: ["a-1"],
    });

    // the new table serves at once, while b still holds the calls routed before the swap
    const missed = JSON.stringify({ error: "not found: no route of this proxy serves this path" });
    assert.deepEqual(await call(`${proxy.url}/b`), { status: 404, text: missed });
    assert.equal((await call(`${proxy.url}/c`)).status, 200);
    assert.equal(c.seen.length, 1);
    for (const reply of heldByGate.splice(0)) reply();
    await loopsEnded;
    assert.equal(b.seen.length, seenByB, "nothing reached b after the swap");

    // a: never anything but 200, and busy across the swap
    assert.deepEqual(
      statusesOfA.filter((s) => s !== 200),
      [],
      `${statusesOfA.length} calls on /a`,
    );
    assert.equal(aAfterSwap, clients * 5);
    // b: each call sent before the swap answered 200, each sent after it 404, never forwarded
    const before = repliesOfB.filter((r) => !r.sentAfterSwap);
    const afterSwap = repliesOfB.filter((r) => r.sentAfterSwap);
    assert.ok(before.length >= 3 * clients, `${before.length} /b calls before the swap`);
    assert.deepEqual(
      before.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 160)}`),
      [],
    );
    assert.equal(afterSwap.length, clients);
    assert.deepEqual(new Set(afterSwap.map((r) => r.status)), new Set([404]));
    assert.ok(
      afterSwap.every((r) => r.text === missed),
      "the proxy's own 404: nothing forwarded",
    );

    // the long call is still open on b after all that; released, it is answered 200
    assert.equal(heldSettled, false, "the long call waits for b");
    releaseHold();
    const long = await held;
    assert.equal(long.status, 200, long.text);
    assert.match(long.text, /"text":"b"/);
    // b's upstream, idle now, is closed: its connections end
    await until(() => [...socketsOfB].every((s) => s.destroyed), "b's connections closed");

    // a kept its upstream, circuit and connections: nothing reset
    assert.equal(
      proxy.breakwater.upstreams.find((u) => u.name === "a-1"),
      upstreamA,
      "the same upstream",
    );
    assert.equal(proxy.breakwater.circuits.get("a-1")?.breaker, circuitA, "the same circuit");
    const report = await health(proxy.adminUrl);
    assert.deepEqual(report.servers, {
      a: { status: "healthy", upstreams: ["a-1"] },
      c: { status: "healthy", upstreams: ["c-1"] },
    });
    assert.deepEqual(Object.keys(report.circuit_breakers), ["a-1", "c-1"]);
    assert.equal(
      report.circuit_breakers["a-1"]?.total_requests,
      statusesOfA.length,
      "counts kept across the swap",
    );
    assert.ok(totalOfA < statusesOfA.length);
    const socketsAfterSwap = socketsOfA.slice(callsOfAAtSwap);
    assert.ok(socketsAfterSwap.length >= clients * 5);
    assert.ok(
      socketsAfterSwap.some((s) => socketsOfABeforeSwap.has(s)),
      "a's calls after the swap ride connections opened before it",
    );
  });
});
