import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import type { CircuitState } from "../../src/breaker/CircuitState.ts";
import { serverStatus } from "../../src/circuits/serverStatus.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { echo, startUpstream, type TestUpstream } from "../support/upstream.ts";
import { startServersAdmin } from "./serversAdmin.ts";

async function getJson(url: string): Promise<Record<string, unknown>> {
  return (await (await request(url)).body.json()) as Record<string, unknown>;
}

async function getText(url: string): Promise<string> {
  return (await request(url)).body.text();
}

describe("a server's status (SPEC §7.1)", () => {
  const of = (...states: CircuitState[]) => serverStatus(states.map((state) => ({ state })));

  it("is healthy when all its circuits are closed, unavailable when none admits, degraded between", () => {
    assert.equal(of("closed"), "healthy");
    assert.equal(of("closed", "closed", "closed"), "healthy");
    assert.equal(of("closed", "open"), "degraded");
    assert.equal(of("half_open", "forced_open"), "degraded", "a half-open circuit admits probes");
    assert.equal(of("disabled"), "degraded", "a disabled circuit admits everything, but is not closed");
    assert.equal(of("open", "forced_open"), "unavailable");
    assert.equal(of("open"), "unavailable");
    assert.equal(of(), "unavailable", "a server without upstreams serves nothing");
  });
});

describe("admin with several servers", () => {
  let admin: Awaited<ReturnType<typeof startServersAdmin>>;

  before(async () => {
    admin = await startServersAdmin({ notes: ["notes-1", "notes-2"], files: ["files-1"] });
  });
  after(() => admin.close());

  it("groups upstreams by server in /health and /circuits, keeping status and circuit_breakers as they were", async () => {
    admin.breaker("notes-1").openFor(10_000);
    for (const path of ["/health", "/circuits"]) {
      const body = await getJson(`${admin.url}${path}`);
      assert.deepEqual(Object.keys(body), ["status", "circuit_breakers", "servers"], path);
      assert.equal(body["status"], "degraded", path);
      assert.deepEqual(Object.keys(body["circuit_breakers"] as object), ["notes-1", "notes-2", "files-1"]);
      assert.deepEqual(
        body["servers"],
        {
          notes: { status: "degraded", upstreams: ["notes-1", "notes-2"] },
          files: { status: "healthy", upstreams: ["files-1"] },
        },
        path,
      );
    }
    admin.breaker("notes-1").reset();
  });

  it("shows a server unavailable when none of its circuits admits, while the proxy stays ready", async () => {
    admin.breaker("notes-1").openFor(10_000);
    admin.breaker("notes-2").forceOpen();
    const health = await getJson(`${admin.url}/health`);
    assert.deepEqual(health["servers"], {
      notes: { status: "unavailable", upstreams: ["notes-1", "notes-2"] },
      files: { status: "healthy", upstreams: ["files-1"] },
    });
    assert.equal((await request(`${admin.url}/ready`)).statusCode, 200, "files still admits");
    admin.clock.advance(10_000); // notes-1 is half-open: it admits a probe
    const later = await getJson(`${admin.url}/health`);
    assert.equal((later["servers"] as Record<string, { status: string }>)["notes"]?.status, "degraded");
    admin.breaker("notes-1").reset();
    admin.breaker("notes-2").reset();
  });

  it("exports breakwater_server_status{server,status}: 1 for the current status, 0 for the others", async () => {
    admin.breaker("files-1").forceOpen();
    const text = await getText(`${admin.url}/metrics`);
    for (const line of [
      'breakwater_server_status{server="notes",status="healthy"} 1',
      'breakwater_server_status{server="notes",status="degraded"} 0',
      'breakwater_server_status{server="notes",status="unavailable"} 0',
      'breakwater_server_status{server="files",status="healthy"} 0',
      'breakwater_server_status{server="files",status="degraded"} 0',
      'breakwater_server_status{server="files",status="unavailable"} 1',
    ]) {
      assert.ok(text.split("\n").includes(line), `missing: ${line}`);
    }
    assert.ok(text.includes('breakwater_circuit_state{upstream="files-1",state="forced_open"} 1'));
    admin.breaker("files-1").reset();
  });

  it("lists the servers on the dashboard's state, with their status and upstreams in config order", async () => {
    admin.breaker("notes-2").forceOpen();
    const state = await getJson(`${admin.url}/dashboard/state`);
    assert.deepEqual(state["servers"], [
      { name: "notes", status: "degraded", upstreams: ["notes-1", "notes-2"] },
      { name: "files", status: "healthy", upstreams: ["files-1"] },
    ]);
    assert.deepEqual(
      (state["upstreams"] as { name: string }[]).map((u) => u.name),
      ["notes-1", "notes-2", "files-1"],
      "the upstreams stay listed as before",
    );
    admin.breaker("notes-2").reset();
  });

  it("drops a server a reload removed from /health, the dashboard's state and the metrics", async () => {
    admin.setServers({ notes: ["notes-1", "notes-2"] });
    try {
      const health = await getJson(`${admin.url}/health`);
      assert.deepEqual(Object.keys(health["servers"] as object), ["notes"]);
      const state = await getJson(`${admin.url}/dashboard/state`);
      assert.deepEqual(
        (state["servers"] as { name: string }[]).map((s) => s.name),
        ["notes"],
      );
      const text = await getText(`${admin.url}/metrics`);
      assert.ok(text.includes('breakwater_server_status{server="notes",status="healthy"} 1'));
      assert.ok(!text.includes('server="files"'), "no series left for the removed server");
    } finally {
      admin.setServers({ notes: ["notes-1", "notes-2"], files: ["files-1"] });
    }
  });
});

describe("admin of a config without servers (top-level [[upstreams]])", () => {
  let a: TestUpstream;
  let b: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    a = await startUpstream(echo("a"));
    b = await startUpstream(echo("b"));
    proxy = await startProxy(
      upstreamsToml([
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ]),
    );
  });
  after(async () => {
    await proxy.close();
    await a.close();
    await b.close();
  });

  it("/health gains one server named default and nothing else changes", async () => {
    const health = await getJson(`${proxy.adminUrl}/health`);
    assert.deepEqual(Object.keys(health), ["status", "circuit_breakers", "servers"]);
    assert.equal(health["status"], "healthy");
    assert.deepEqual(Object.keys(health["circuit_breakers"] as object), ["a", "b"]);
    assert.deepEqual(health["servers"], { default: { status: "healthy", upstreams: ["a", "b"] } });
    const circuits = await getJson(`${proxy.adminUrl}/circuits`);
    assert.deepEqual(circuits, health, "/circuits shows the same");
    const ready = await request(`${proxy.adminUrl}/ready`);
    assert.deepEqual([ready.statusCode, await ready.body.json()], [200, { ready: true }]);
    const metrics = await getText(`${proxy.adminUrl}/metrics`);
    assert.ok(metrics.includes('breakwater_server_status{server="default",status="healthy"} 1'));
  });

  it("takes the upstreams as one server named default when the servers are not given", async () => {
    const admin = await startServersAdmin({ default: ["x", "y"] }, false);
    try {
      admin.breaker("y").forceOpen();
      const health = await getJson(`${admin.url}/health`);
      assert.deepEqual(health["servers"], { default: { status: "degraded", upstreams: ["x", "y"] } });
    } finally {
      await admin.close();
    }
  });
});
