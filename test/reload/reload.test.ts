import assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { connect } from "node:tls";
import { Agent, request } from "undici";
import { makeCertificates } from "../support/certificates.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { upstreamsToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { echo, type Handler, startUpstream, type TestUpstream } from "../support/upstream.ts";
import { cleanup, reloadable } from "./reloadRig.ts";

after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function upstream(handler: Handler): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  cleanup.push(() => u.close());
  return u;
}

async function get(url: string) {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, upstream: res.headers["x-upstream"], text };
}

describe("reload without restart (SPEC §6.3)", () => {
  it("adds and removes upstreams, finishing the removed one's request, and keeps an unchanged one's circuit", async () => {
    let release: () => void = () => {};
    const a = await upstream(echo("a"));
    const b = await upstream((req, res, body) => {
      release = () => echo("b")(req, res, body);
    });
    const c = await upstream(echo("c"));
    const toml = (list: { name: string; url: string }[]) =>
      `[proxy]\nload_balancing = "failover"\n${upstreamsToml(list)}`;
    const proxy = await reloadable(
      toml([
        { name: "b", url: b.url },
        { name: "a", url: a.url },
      ]),
    );
    const circuitA = proxy.breakwater.circuits.get("a")?.breaker;
    assert.ok(circuitA);
    circuitA.forceOpen();
    const inFlight = get(proxy.url); // to b, which holds it
    await until(() => b.seen.length === 1, "b holds the request");

    const logged = proxy.reloadWith(
      toml([
        { name: "c", url: c.url },
        { name: "a", url: a.url },
      ]),
    );
    const reloaded = logged.find((l) => l["msg"] === "config reloaded");
    assert.deepEqual(reloaded?.["upstreams"], { added: ["c"], removed: ["b"], rebuilt: [], kept: ["a"] });
    assert.equal(proxy.breakwater.circuits.get("a")?.breaker, circuitA, "the same circuit");
    assert.equal(circuitA.state, "forced_open", "and its state");
    assert.equal(proxy.breakwater.circuits.get("b"), undefined);

    for (let i = 0; i < 3; i++) assert.equal((await get(proxy.url)).upstream, "c", "new requests skip b");
    assert.equal(b.seen.length, 1);
    release();
    const finished = await inFlight;
    assert.deepEqual([finished.status, finished.upstream], [200, "b"], "b's request finished");
    const health = (await (await request(`${proxy.adminUrl}/health`)).body.json()) as {
      circuit_breakers: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(health.circuit_breakers), ["c", "a"]);
  });

  it("makes a new circuit for changed breaker options, and keeps the circuit of an upstream rebuilt for other reasons", async () => {
    const a = await upstream(echo("a"));
    const b = await upstream(echo("b"));
    const proxy = await reloadable(
      upstreamsToml([
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ]),
    );
    const [circuitA, circuitB] = ["a", "b"].map((n) => proxy.breakwater.circuits.get(n)?.breaker);
    const [upstreamA] = proxy.breakwater.upstreams;
    circuitA?.forceOpen();
    circuitB?.forceOpen();
    const logged = proxy.reloadWith(
      upstreamsToml([
        { name: "a", url: a.url, extra: "max_in_flight = 7" },
        { name: "b", url: b.url, extra: "[upstreams.circuit_breaker]\nfailure_threshold = 2" },
      ]),
    );
    assert.deepEqual(logged.find((l) => l["msg"] === "config reloaded")?.["upstreams"], {
      added: [],
      removed: [],
      rebuilt: [
        { name: "a", circuitKept: true },
        { name: "b", circuitKept: false },
      ],
      kept: [],
    });
    const [newA] = proxy.breakwater.upstreams;
    assert.notEqual(newA, upstreamA);
    assert.equal(newA?.maxInFlight, 7);
    assert.equal(newA?.circuit, circuitA);
    assert.equal(circuitA?.state, "forced_open");
    assert.equal(proxy.breakwater.circuits.get("b")?.breaker.state, "closed", "a new circuit for b");
  });

  it("refuses an invalid config with the message check prints, and keeps the running one", async () => {
    const a = await upstream(echo("a"));
    const good = upstreamsToml([{ name: "a", url: a.url }]);
    const proxy = await reloadable(good);
    const logged = proxy.reloadWith(`[proxy.circuit_breaker]\nfailure_threshold = -1\n${good}`);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.["msg"], "config reload refused: the running config stays");
    assert.match(String(logged[0]?.["problem"]), /proxy\.circuit_breaker\.failure_threshold: .*got -1/);
    assert.equal((await get(proxy.url)).status, 200);
    assert.equal(proxy.breakwater.upstreams.length, 1);
  });

  it("logs a reload that fails to apply, and leaves the circuits and running upstreams exactly as they were", async () => {
    const certs = makeCertificates();
    cleanup.push(certs.remove);
    const [a, b, c] = [await upstream(echo("a")), await upstream(echo("b")), await upstream(echo("c"))];
    const tls = `[server]\ntls_cert_file = "${certs.certFile}"\ntls_key_file = "${certs.keyFile}"\n`;
    // the listener's certificate and key stop making a pair between the check and the apply (files
    // swapped under the proxy): the reload fails at its TLS step, after its upstreams were built
    const proxy = await reloadable(
      tls +
        upstreamsToml([
          { name: "a", url: a.url },
          { name: "b", url: b.url },
        ]),
      {
        alter: (loaded) => ({
          ...loaded,
          config: {
            ...loaded.config,
            tls: { cert: readFileSync(certs.certFile), key: readFileSync(certs.otherKeyFile) },
          },
        }),
      },
    );
    const circuits = [...proxy.breakwater.circuits.all()];
    const upstreams = [...proxy.breakwater.upstreams];
    // it would remove b, add c, and make a anew with a new circuit
    const logged = proxy.reloadWith(
      `${tls}[proxy.circuit_breaker]\nfailure_threshold = 9\n` +
        upstreamsToml([
          { name: "a", url: a.url },
          { name: "c", url: c.url },
        ]),
    );
    assert.equal(logged.at(-1)?.["msg"], "config reload failed");
    assert.deepEqual(
      [...proxy.breakwater.circuits.all()].map((circuit, i) => circuit === circuits[i]),
      [true, true],
      "the same circuits, and no other",
    );
    assert.deepEqual(
      proxy.breakwater.upstreams.map((u, i) => u === upstreams[i]),
      [true, true],
      "the same upstreams",
    );
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    cleanup.push(() => insecure.close());
    const served: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await request(proxy.url.replace("http:", "https:"), { dispatcher: insecure });
      assert.equal(res.statusCode, 200);
      served.push(String(res.headers["x-upstream"]));
      await res.body.text();
    }
    assert.deepEqual(served.sort(), ["a", "b"], "b still serves: it was not drained");
  });

  it("lets go of a circuit a reload replaced: its later changes are neither logged nor counted under its name", async () => {
    const a = await upstream(echo("a"));
    const proxy = await reloadable(upstreamsToml([{ name: "a", url: a.url }]));
    const old = proxy.breakwater.circuits.get("a")?.breaker;
    proxy.reloadWith(
      `[proxy.circuit_breaker]\nfailure_threshold = 9\n${upstreamsToml([{ name: "a", url: a.url }])}`,
    );
    const fresh = proxy.breakwater.circuits.get("a")?.breaker;
    assert.ok(
      old !== undefined && fresh !== undefined && old !== fresh,
      "a new circuit for new breaker options",
    );
    const count = proxy.lines.length;
    old.forceOpen(); // a request in flight on the old upstream could do as much
    assert.deepEqual(proxy.lines.slice(count), [], "no audit line for the old circuit");
    const metrics = await request(`${proxy.adminUrl}/metrics`).then((r) => r.body.text());
    assert.doesNotMatch(
      metrics,
      /breakwater_circuit_transitions_total\{upstream="a",from="closed",to="forced_open"\}/,
    );
    const health = (await request(`${proxy.adminUrl}/health`).then((r) => r.body.json())) as {
      circuit_breakers: Record<string, { state: string }>;
    };
    assert.equal(health.circuit_breakers["a"]?.state, "closed", "the new circuit is the one reported");
  });

  it("ignores a reload (SIGHUP) once shutdown has begun: no health check restarts against closed upstreams", async () => {
    const timers = new ManualTimers();
    const a = await upstream(echo("a"));
    const toml =
      '[proxy.health_check]\nkind = "http"\npath = "/"\ninterval_secs = 10\n' +
      `[proxy.circuit_breaker]\nfailure_threshold = 2\n${upstreamsToml([{ name: "a", url: a.url }])}`;
    const proxy = await reloadable(toml, { timers });
    const closing = proxy.breakwater.close(1_000);
    const logged = proxy.reloadWith(toml);
    assert.equal(logged.at(-1)?.["msg"], "config reload ignored: the proxy is shutting down");
    await closing;
    await timers.advance(60_000);
    assert.equal(proxy.breakwater.circuits.get("a")?.breaker.state, "closed");
    assert.deepEqual(
      proxy.lines.filter((l) => l["msg"] === "health check failed" || l["msg"] === "circuit opened"),
      [],
    );
  });

  it("logs the keys that changed, and those that need a restart as not applied", async () => {
    const a = await upstream(echo("a"));
    const list = upstreamsToml([{ name: "a", url: a.url }]);
    const proxy = await reloadable(list);
    const logged = proxy.reloadWith(
      `[proxy]\nrequest_timeout_ms = 1234\n[server]\nmax_body_bytes = 100\n[fleet]\nname = "other"\n${list}`,
    );
    const reloaded = logged.find((l) => l["msg"] === "config reloaded");
    assert.deepEqual(reloaded?.["changed"], ["server.max_body_bytes", "proxy.request_timeout_ms"]);
    assert.deepEqual(reloaded?.["need_restart"], ["fleet.name"]);
    assert.ok(logged.some((l) => l["msg"] === "config changes that need a restart were not applied"));
    assert.deepEqual(
      reloaded?.["upstreams"],
      { added: [], removed: [], rebuilt: ["a"].map((name) => ({ name, circuitKept: true })), kept: [] },
      "new connections for the new timeout",
    );
    const big = await request(proxy.url, { method: "POST", body: "x".repeat(200) });
    await big.body.text();
    assert.equal(big.statusCode, 413, "the new body limit applies");
  });

  it("names a new admin token or session key (shown hidden) and applies them: the new token controls circuits", async () => {
    const a = await upstream(echo("a"));
    const list = upstreamsToml([{ name: "a", url: a.url }]);
    const [k1, k2] = [randomBytes(32).toString("base64"), randomBytes(32).toString("base64")];
    const proxy = await reloadable(
      `[server]\nadmin_token = "old"\n[fleet]\nsession_keys = ["${k1}"]\n${list}`,
    );
    const logged = proxy.reloadWith(
      `[server]\nadmin_token = "new"\n[fleet]\nsession_keys = ["${k2}"]\n${list}`,
    );
    assert.deepEqual(logged.find((l) => l["msg"] === "config reloaded")?.["changed"], [
      "server.admin_token",
      "fleet.session_keys",
    ]);
    assert.equal(JSON.stringify(logged).includes(k2), false, "no secret in the log");
    const control = (token: string) =>
      request(`${proxy.adminUrl}/circuits`, { headers: { authorization: `Bearer ${token}` } }).then(
        async (res) => {
          await res.body.text();
          return res.statusCode;
        },
      );
    assert.deepEqual([await control("old"), await control("new")], [401, 200]);
  });

  it("re-reads the certificate files: new connections get the new certificate", async () => {
    const first = makeCertificates();
    const second = makeCertificates();
    cleanup.push(first.remove, second.remove);
    const dir = mkdtempSync(join(tmpdir(), "breakwater-reload-tls-"));
    const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = await upstream(echo("a"));
    const toml = `[server]\ntls_cert_file = "${certFile}"\ntls_key_file = "${keyFile}"\n${upstreamsToml([{ name: "a", url: a.url }])}`;
    const proxy = await reloadable(toml);
    const port = Number(new URL(proxy.url).port);
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? "");
          socket.end();
        });
        socket.on("error", reject);
      });
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    assert.equal(await served(), fingerprint(first.cert));
    copyFileSync(second.certFile, certFile);
    copyFileSync(second.keyFile, keyFile);
    const logged = proxy.reloadWith(toml);
    assert.deepEqual(logged.find((l) => l["msg"] === "config reloaded")?.["changed"], [
      "server.tls_cert_file (re-read)",
    ]);
    assert.equal(await served(), fingerprint(second.cert));
  });
});
