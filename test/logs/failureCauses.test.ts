import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { ManualTimers } from "../support/ManualTimers.ts";
import { rpc, startFleet, startProxy, type TestProxy } from "../support/proxy.ts";
import { until } from "../support/until.ts";

const stdioServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const init = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

/** The failure lines logged so far: `upstream failure` and `broken upstream response`. */
function failureLines(proxy: TestProxy): Record<string, unknown>[] {
  return proxy
    .logs()
    .filter((line) => line["msg"] === "upstream failure" || line["msg"] === "broken upstream response");
}

/** The causes of the failure lines logged so far. */
const causes = (proxy: TestProxy) => failureLines(proxy).map((line) => line["cause"]);

/** A port nothing listens on: one the system gave out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function proxyFor(toml: string, timers?: ManualTimers): Promise<TestProxy> {
  const proxy = await startProxy(toml, {}, timers === undefined ? {} : { timers });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** One stdio upstream named "local" running `command`. */
const stdioToml = (command: string[], extra = "") =>
  `[[upstreams]]\nname = "local"\ncommand = ${JSON.stringify(command)}\n${extra}\n`;

async function post(proxy: TestProxy, body: string): Promise<number> {
  const res = await request(proxy.url, { method: "POST", headers, body });
  await res.body.text();
  return res.statusCode;
}

describe("each failure an upstream is charged with is logged at warn with its cause", () => {
  it("names ECONNREFUSED for an upstream that refuses the connection", async () => {
    const port = await closedPort();
    const proxy = await proxyFor(`[[upstreams]]\nname = "dead"\nurl = "http://127.0.0.1:${port}"\n`);
    assert.equal(await post(proxy, rpc(1)), 502);
    const [line] = failureLines(proxy);
    assert.equal(line?.["level"], 40, "warn");
    assert.equal(line?.["upstream"], "dead");
    assert.equal(line?.["cause"], "ECONNREFUSED");
  });

  it("names ENOENT for a stdio command that does not exist", async () => {
    const proxy = await proxyFor(stdioToml(["/nonexistent/breakwater-test-mcp-server"]));
    assert.equal(await post(proxy, init), 502);
    assert.deepEqual(causes(proxy), ["ENOENT"]);
  });

  it("names the exit code of a child that exits with code 3 before it answers", async () => {
    const proxy = await proxyFor(stdioToml([process.execPath, "-e", "process.exit(3)"]));
    assert.equal(await post(proxy, init), 502);
    assert.deepEqual(causes(proxy), ["exit 3"]);
  });

  it("names the signal of a child that is killed", async () => {
    const proxy = await proxyFor(stdioToml(["/bin/sh", "-c", "kill -9 $$"]));
    assert.equal(await post(proxy, init), 502);
    assert.deepEqual(causes(proxy), ["signal SIGKILL"]);
  });

  it("names the exit code of a child that exits with code 3 under a call", async () => {
    const proxy = await proxyFor(stdioToml([process.execPath, stdioServer]));
    const opened = await request(proxy.url, { method: "POST", headers, body: init });
    await opened.body.text();
    const session = String(opened.headers["mcp-session-id"]);
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "crash", arguments: {} },
    });
    const res = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
      body: call,
    });
    await res.body.text();
    await until(() => failureLines(proxy).length > 0, "the failure's line");
    assert.deepEqual(causes(proxy), ["exit 3"]);
  });

  it("names timeout for an upstream that sends no response head within the request timeout", async () => {
    const timers = new ManualTimers();
    const fleet = await startFleet(
      { silent: () => {} },
      "[proxy]\nrequest_timeout_ms = 1000\n",
      {},
      { timers },
    );
    cleanups.push(() => fleet.close());
    const reply = request(fleet.proxy.url, { method: "POST", headers, body: rpc(1) });
    await until(() => (fleet.upstreams["silent"]?.seen.length ?? 0) > 0, "the request reaches the upstream");
    await timers.advance(1_000);
    assert.equal((await reply).statusCode, 504);
    assert.deepEqual(causes(fleet.proxy), ["timeout"]);
  });

  it("names the status of a failure status", async () => {
    const fleet = await startFleet({
      bad: (_req, res) => res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway"),
    });
    cleanups.push(() => fleet.close());
    assert.equal(await post(fleet.proxy, rpc(1)), 502);
    assert.deepEqual(causes(fleet.proxy), ["status 502"]);
  });

  it("names the JSON-RPC error code of a failing answer", async () => {
    const fleet = await startFleet({
      erring: (_req, res, body) => {
        const { id } = JSON.parse(body) as { id: number };
        const error = { code: -32603, message: "Internal error" };
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id, error }));
      },
    });
    cleanups.push(() => fleet.close());
    assert.equal(await post(fleet.proxy, rpc(1)), 200);
    assert.deepEqual(causes(fleet.proxy), ["jsonrpc -32603"]);
  });

  it("names stream_cut for an event stream that ends before the call's answer", async () => {
    const fleet = await startFleet({
      cut: (_req, res) => res.writeHead(200, { "content-type": "text/event-stream" }).end(": nothing\n\n"),
    });
    cleanups.push(() => fleet.close());
    assert.equal(await post(fleet.proxy, rpc(1)), 200);
    assert.deepEqual(causes(fleet.proxy), ["stream_cut"]);
  });

  it("logs nothing for a success or a client's own error (neutral)", async () => {
    const fleet = await startFleet({
      fine: (req, res) =>
        res
          .writeHead(req.headers["x-fail"] === undefined ? 200 : 404, { "content-type": "application/json" })
          .end("{}"),
    });
    cleanups.push(() => fleet.close());
    assert.equal(await post(fleet.proxy, rpc(1)), 200);
    const res = await request(fleet.proxy.url, {
      method: "POST",
      headers: { ...headers, "x-fail": "1" },
      body: rpc(2),
    });
    await res.body.text();
    assert.equal(res.statusCode, 404);
    assert.deepEqual(failureLines(fleet.proxy), []);
  });
});

describe("the circuit opened line", () => {
  it("names the cause of the failure that opened it", async () => {
    const port = await closedPort();
    const proxy = await proxyFor(
      `[[upstreams]]\nname = "dead"\nurl = "http://127.0.0.1:${port}"\n[upstreams.circuit_breaker]\nfailure_threshold = 2\n`,
    );
    assert.equal(await post(proxy, rpc(1)), 502);
    assert.equal(await post(proxy, rpc(2)), 502);
    const opened = proxy.logs().filter((line) => line["msg"] === "circuit opened");
    assert.equal(opened.length, 1);
    assert.equal(opened[0]?.["reason"], "consecutive_failures");
    assert.equal(opened[0]?.["cause"], "ECONNREFUSED");
  });

  it("names the exit code of a crash-looping stdio command", async () => {
    const proxy = await proxyFor(
      stdioToml(
        [process.execPath, "-e", "process.exit(3)"],
        "[upstreams.circuit_breaker]\nfailure_threshold = 1",
      ),
    );
    assert.equal(await post(proxy, init), 502);
    const opened = proxy.logs().filter((line) => line["msg"] === "circuit opened");
    assert.equal(opened[0]?.["cause"], "exit 3");
  });
});

describe("failure lines of a dead upstream", () => {
  it("are one at once and then one count per interval, on the proxy's timers", async () => {
    const timers = new ManualTimers();
    const port = await closedPort();
    const proxy = await proxyFor(
      `[[upstreams]]\nname = "dead"\nurl = "http://127.0.0.1:${port}"\n[upstreams.circuit_breaker]\nfailure_threshold = 100\n`,
      timers,
    );
    for (let i = 0; i < 5; i++) assert.equal(await post(proxy, rpc(i)), 502);
    assert.deepEqual(causes(proxy), ["ECONNREFUSED"]);
    await timers.advance(10_000);
    const repeated = proxy.logs().filter((line) => line["msg"] === "upstream failures repeated");
    assert.deepEqual(
      repeated.map((line) => [line["upstream"], line["cause"], line["count"]]),
      [["dead", "ECONNREFUSED", 4]],
    );
  });
});
