import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { request } from "undici";
import { RedisServer } from "../support/redisServer.ts";
import { Replica } from "../support/replica.ts";
import { sessionServer } from "../support/sessionServer.ts";
import { until } from "../support/until.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { untilAnswered } from "./untilAnswered.ts";

async function post(url: string, message: object, session?: string) {
  const res = await request(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(session === undefined ? {} : { "mcp-session-id": session }),
    },
    body: JSON.stringify({ jsonrpc: "2.0", ...message }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, session: res.headers["mcp-session-id"] as string | undefined, text };
}

const time = (line: { time: string }) => Date.parse(line.time);

describe("a fleet of three replicas: processes of their own, one redis-server (SPEC §6)", () => {
  const redis = new RedisServer();
  const dir = mkdtempSync(join(tmpdir(), "breakwater-fleet-"));
  let upstream: TestUpstream;
  let replicas: Replica[] = [];
  /** How the upstream answers: its sessions, a failure, or its sessions slowly (in-flight times kept). */
  let mode: "ok" | "fail" | "slow" = "ok";
  const spans: { start: number; end: number }[] = [];
  let initialized: string | undefined;

  before(async () => {
    await redis.start();
    const sessions = sessionServer("api");
    upstream = await startUpstream((req, res, body) => {
      if (mode === "fail") {
        res.writeHead(500, { "content-type": "application/json" }).end("{}");
        return;
      }
      if (mode === "ok") return sessions(req, res, body);
      const start = Date.now();
      setTimeout(() => {
        spans.push({ start, end: Date.now() });
        sessions(req, res, body);
      }, 150);
    });
    const config = join(dir, "breakwater.toml");
    writeFileSync(
      config,
      `[proxy.circuit_breaker]
failure_threshold = 3
timeout_duration_secs = 1
success_threshold = 2

[fleet]
session_keys = ["${randomBytes(32).toString("base64")}"]
redis_url = "${redis.url.href}"
name = "replicas-test"

[[upstreams]]
name = "api"
url = "${upstream.url}"
`,
    );
    replicas = await Promise.all([0, 1, 2].map(() => new Replica(config).start()));
    await until(
      () => replicas.every((r) => r.lines("fleet link up").length === 1),
      "every replica is linked",
    );
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await upstream?.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a session initialized on one replica on the others, and on one restarted", async () => {
    const [one, two, three] = replicas;
    assert.ok(one && two && three);
    const init = await post(one.url, { id: 0, method: "initialize", params: {} });
    assert.equal(init.status, 200);
    initialized = init.session;
    for (const [i, replica] of [two, three, one].entries()) {
      assert.equal((await post(replica.url, { id: i + 1, method: "tools/list" }, init.session)).status, 200);
    }
    await two.stop();
    await two.start();
    assert.equal((await post(two.url, { id: 9, method: "tools/list" }, init.session)).status, 200);
    assert.ok(
      upstream.seen.every((r) => r.headers["mcp-session-id"] !== init.session),
      "token never upstream",
    );
  });

  it("an upstream dies: open on every replica, on the first one's word; recovers with one probe at a time", async (t) => {
    const [one, ...others] = replicas;
    assert.ok(one);
    mode = "fail";
    // sessionless calls (a session's call to an open circuit is a 404: its client starts another)
    for (let id = 0; id < 3; id++) await post(one.url, { id, method: "initialize", params: {} });
    const refused = await post(one.url, { id: 3, method: "initialize", params: {} });
    assert.equal(refused.status, 503, refused.text);
    const [opened] = one.lines("circuit opened");
    assert.ok(opened);
    await until(() => others.every((r) => r.lines("circuit opened").length > 0), "the others are open");
    const delays = others.map((r) => time(r.lines("circuit opened")[0] as { time: string }) - time(opened));
    // how soon is a benchmark's figure (docs/fleet.md), not a verdict: here, that they opened on its word
    t.diagnostic(`opened on the other replicas ${delays.join(" ms and ")} ms after the first`);
    for (const r of others) assert.equal(r.lines("circuit opened")[0]?.["reason"], "fleet");

    // the upstream recovers, slowly: clients keep calling every replica until every circuit is closed
    mode = "slow";
    const closed = () =>
      replicas.every((r) => r.lines("circuit state changed").some((l) => l["to"] === "closed"));
    let answered = 0;
    const client = async (replica: Replica) => {
      for (let i = 0; i < 2_000 && !closed(); i++) {
        const reply = await post(replica.url, { id: i, method: "initialize", params: {} });
        if (reply.status === 200) answered++;
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await Promise.all([...replicas, ...replicas].map(client));
    assert.ok(closed(), "every replica closed");
    const closings = replicas.flatMap((r) =>
      r.lines("circuit state changed").filter((l) => l["to"] === "closed"),
    );
    const firstClose = Math.min(...closings.map(time));
    const probes = spans.filter((s) => s.start < firstClose).sort((a, b) => a.start - b.start);
    t.diagnostic(
      `${probes.length} probes reached the upstream before the first closing; ${answered} calls answered`,
    );
    assert.equal(probes.length, 2, "success_threshold probes, no more");
    for (let i = 1; i < probes.length; i++) {
      assert.ok((probes[i]?.start ?? 0) >= (probes[i - 1]?.end ?? 0), "never two probes at once");
    }
    assert.equal(closings.filter((l) => l["reason"] === "probes_succeeded").length, 1, "one replica probed");
    mode = "ok";
  });

  it("serves without errors while Redis is down, logs it once per replica, and shares again when it is back", async () => {
    await redis.stop();
    await until(() => replicas.every((r) => r.lines("fleet link lost").length === 1), "every replica knows");
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const replica = replicas[i % 3] as Replica;
      statuses.push((await post(replica.url, { id: i, method: "tools/list" }, initialized)).status);
    }
    assert.deepEqual(new Set(statuses), new Set([200]));
    const health = (await (await request(`${replicas[0]?.adminUrl}/health`)).body.json()) as {
      fleet: { connected: boolean };
    };
    assert.equal(health.fleet.connected, false);
    const dashboard = (await (await request(`${replicas[2]?.adminUrl}/dashboard/state`)).body.json()) as {
      fleet: { connected: boolean };
    };
    assert.equal(dashboard.fleet.connected, false, "the dashboard says so too");
    await redis.start();
    await until(
      () => replicas.every((r) => r.lines("fleet link back").length === 1),
      "every replica is back",
    );
    const back = (await (await request(`${replicas[0]?.adminUrl}/health`)).body.json()) as {
      fleet: { connected: boolean; replicas_seen: number };
    };
    assert.deepEqual(back.fleet, { connected: true, replicas_seen: 2 });
    const metrics = await (await request(`${replicas[1]?.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /^breakwater_fleet_connected 1$/m);
    for (const r of replicas)
      assert.equal(r.lines("fleet link lost").length, 1, "one line, not one per retry");
  });

  it("ignores a message not signed with the fleet's keys, and counts it in /metrics", async () => {
    const [one, two] = replicas;
    assert.ok(one && two);
    const publisher = new Redis(redis.url.href);
    try {
      await publisher.publish(
        "replicas-test:events",
        JSON.stringify({ kind: "forced_open", upstream: "api", from: "mallory" }),
      );
    } finally {
      publisher.disconnect();
    }
    await untilAnswered(async () => {
      const metrics = await (await request(`${one.adminUrl}/metrics`)).body.text();
      return /^breakwater_fleet_messages_rejected_total\{reason="unauthenticated"\} 1$/m.test(metrics);
    }, "the rejection is counted");
    const health = (await (await request(`${two.adminUrl}/health`)).body.json()) as {
      circuit_breakers: Record<string, { state: string }>;
    };
    assert.equal(health.circuit_breakers["api"]?.state, "closed", "not forced open by it");
  });
});
