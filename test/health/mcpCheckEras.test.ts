import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { Agent, type Dispatcher } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import type { CheckResult } from "../../src/health/HealthCheck.ts";
import { HealthChecker } from "../../src/health/HealthChecker.ts";
import { CircuitBreaker } from "../../src/index.ts";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";
import { healthCheckId, mcpCheck } from "../../src/upstreams/http/healthChecks.ts";
import { FetchServer } from "../support/FetchServer.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { until } from "../support/until.ts";
import { type Handler, startUpstream } from "../support/upstream.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The default judging rules: 5xx and -32603, -32000..-32019 fail (SPEC §3.1). */
const rules = {
  isFailureStatus: (status: number) => status >= 500,
  isFailureCode: (code: number) => code === -32603 || (code <= -32000 && code >= -32019),
};
const checkCall = { ids: [healthCheckId], progressTokens: new Set<string>(), tool: undefined };

/**
 * The `"mcp"` check of `url` run by a health checker on stepped time (every 10 s, the circuit closed
 * however many checks fail), through a dispatcher that notes every request it sends the upstream:
 * `"POST server/discover"`, `"POST initialize"`, `"DELETE"`.
 */
function checkerOf(url: string) {
  const sent: string[] = [];
  const noting: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
    const headers = (options.headers ?? {}) as Record<string, string>;
    sent.push(options.method === "POST" ? `POST ${headers["mcp-method"]}` : options.method);
    return dispatch(options, handler);
  };
  const agent = new Agent();
  const timers = new ManualTimers(1_000_000);
  const breaker = new CircuitBreaker({
    name: "u",
    clock: timers,
    halfOpenProbesOnly: true,
    failureThreshold: 100,
  });
  const results: CheckResult[] = [];
  const checker = new HealthChecker({
    upstream: "u",
    breaker,
    check: mcpCheck(agent.compose(noting), new URL(url), () => new JsonRpcJudge(checkCall, rules)),
    intervalMs: 10_000,
    timeoutMs: 5_000,
    timers,
    onResult: (_name, result) => results.push(result),
  });
  checker.start();
  cleanups.push(async () => {
    checker.stop();
    await agent.close();
  });
  /** Steps time to the next check (and `ms` beyond, less 10 s); what it found, and the requests it sent. */
  const check = async (ms = 10_000): Promise<{ result: CheckResult | undefined; sent: string[] }> => {
    const before = { results: results.length, sent: sent.length };
    await timers.advance(ms);
    await until(() => results.length > before.results, "the check answers");
    return { result: results.at(-1), sent: sent.slice(before.sent) };
  };
  return { check };
}

/** An SDK 2.x server (`createMcpHandler`): `legacy: "reject"` serves 2026-07-28 only; answers 503 while `down`. */
async function sdk2Server(options: Parameters<typeof createMcpHandler>[1] = {}) {
  const handler = createMcpHandler(() => new McpServer({ name: "sdk2", version: "1.0.0" }), {
    keepAliveMs: 0,
    ...options,
  });
  const state = { down: false };
  const server = new FetchServer(async (request) =>
    state.down ? new Response("down", { status: 503 }) : handler.fetch(request),
  );
  await server.start();
  cleanups.push(async () => {
    await handler.close();
    await server.close();
  });
  return { url: server.url, state };
}

/** An SDK 1.x server (the demo's): sessions after `initialize`, a stateless transport for anything else. */
async function sdk1Server(): Promise<DemoMcpServer> {
  const server = new DemoMcpServer("earlier");
  await server.start();
  cleanups.push(() => server.close());
  return server;
}

async function fakeServer(handler: Handler): Promise<string> {
  const upstream = await startUpstream(handler);
  cleanups.push(() => upstream.close());
  return upstream.url;
}

const healthy = { healthy: true };

describe('the "mcp" health check of both eras (SPEC §8.2)', () => {
  it("checks a modern-only SDK 2.x server with server/discover alone, every time", async () => {
    const { url } = await sdk2Server({ legacy: "reject" });
    const { check } = checkerOf(url);
    assert.deepEqual(await check(), { result: healthy, sent: ["POST server/discover"] });
    assert.deepEqual(await check(), { result: healthy, sent: ["POST server/discover"] });
  });

  it("checks a dual-era SDK 2.x server with server/discover alone, its answer on an event stream too", async () => {
    const json = checkerOf((await sdk2Server()).url);
    assert.deepEqual(await json.check(), { result: healthy, sent: ["POST server/discover"] });
    const sse = checkerOf((await sdk2Server({ responseMode: "sse" })).url);
    assert.deepEqual(await sse.check(), { result: healthy, sent: ["POST server/discover"] });
  });

  it("checks an SDK 1.x server with initialize and DELETE after its answer to server/discover, then with initialize straight away", async () => {
    const server = await sdk1Server();
    const { check } = checkerOf(server.url);
    assert.deepEqual(await check(), {
      result: healthy,
      sent: ["POST server/discover", "POST initialize", "DELETE"],
    });
    assert.deepEqual(await check(), { result: healthy, sent: ["POST initialize", "DELETE"] });
    assert.equal(server.sessionCount, 0, "every check's session was ended");
  });

  it("asks server/discover again after a failed check of an earlier-era server", async () => {
    const server = await sdk1Server();
    const { check } = checkerOf(server.url);
    await check();
    await server.setMode("fail"); // 500 to everything
    const failed = await check();
    assert.equal(failed.result?.healthy, false);
    assert.deepEqual(failed.sent, ["POST initialize"]);
    await server.setMode("ok");
    assert.deepEqual(await check(), {
      result: healthy,
      sent: ["POST server/discover", "POST initialize", "DELETE"],
    });
  });

  it("fails a check answered 5xx to server/discover, without trying initialize", async () => {
    const modern = await sdk2Server({ legacy: "reject" });
    const { check } = checkerOf(modern.url);
    modern.state.down = true;
    const failed = await check();
    assert.deepEqual(failed.sent, ["POST server/discover"]);
    assert.deepEqual(failed.result, {
      healthy: false,
      problem: "server/discover answered 503 without a usable result",
    });
    modern.state.down = false;
    assert.deepEqual(await check(), { result: healthy, sent: ["POST server/discover"] });
  });

  it("fails a check that gets no answer within timeout_ms, and asks server/discover first after it", async () => {
    const server = await sdk1Server();
    const { check } = checkerOf(server.url);
    await check();
    await server.setMode("hang");
    const failed = await check(15_000); // the check starts after 10 s; its 5 s timeout falls within these 15
    assert.equal(failed.result?.healthy, false);
    await server.setMode("ok");
    assert.deepEqual((await check()).sent.slice(0, 1), ["POST server/discover"]);
  });

  it("takes a -32022 naming a later revision as a modern server's answer, and one naming only earlier revisions as an earlier-era server's", async () => {
    const unsupported =
      (supported: string[]): Handler =>
      (req, res, body) => {
        if (req.method === "DELETE") return void res.writeHead(200).end();
        const { id, method } = JSON.parse(body) as { id: unknown; method: string };
        const answer =
          method === "initialize"
            ? {
                result: {
                  protocolVersion: "2025-06-18",
                  capabilities: {},
                  serverInfo: { name: "s", version: "1" },
                },
              }
            : {
                error: {
                  code: -32022,
                  message: "Unsupported protocol version",
                  data: { supported, requested: "2026-07-28" },
                },
              };
        res
          .writeHead(method === "initialize" ? 200 : 400, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id, ...answer }));
      };
    const later = checkerOf(await fakeServer(unsupported(["2027-03-01"])));
    assert.deepEqual(await later.check(), { result: healthy, sent: ["POST server/discover"] });
    assert.deepEqual(await later.check(), { result: healthy, sent: ["POST server/discover"] });
    const earlier = checkerOf(await fakeServer(unsupported(["2025-06-18"])));
    assert.deepEqual(await earlier.check(), {
      result: healthy,
      sent: ["POST server/discover", "POST initialize"],
    });
  });

  it("asks server/discover again once an earlier-era upstream refuses initialize as a modern-only server does", async () => {
    let modern = false;
    const url = await fakeServer((req, res, body) => {
      if (req.method === "DELETE") return void res.writeHead(200).end();
      const { id, method } = JSON.parse(body) as { id: unknown; method: string };
      const [status, answer] =
        method === "server/discover"
          ? modern
            ? [200, { result: { supportedVersions: ["2026-07-28"], capabilities: {} } }]
            : [400, { error: { code: -32000, message: "Bad Request: Server not initialized" } }]
          : modern
            ? [400, { error: { code: -32022, message: "Unsupported", data: { supported: ["2026-07-28"] } } }]
            : [200, { result: { protocolVersion: "2025-11-25", capabilities: {} } }];
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id, ...answer }));
    });
    const { check } = checkerOf(url);
    assert.deepEqual((await check()).sent, ["POST server/discover", "POST initialize"]);
    modern = true;
    assert.deepEqual((await check()).sent, ["POST initialize"]);
    assert.deepEqual(await check(), { result: healthy, sent: ["POST server/discover"] });
  });
});
