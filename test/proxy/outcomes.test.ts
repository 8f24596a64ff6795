import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ManualTimers } from "../support/ManualTimers.ts";
import { rpc, startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { echo, hang, refusedPort, startUpstream, status, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A proxy whose deadlines run on manual time (`timers`) in front of one upstream answering with `handler`. */
async function setup(extraToml = "", handler = status(500)) {
  const upstream = await startUpstream(handler);
  const timers = new ManualTimers();
  const proxy = await startProxy(
    `[proxy]\nrequest_timeout_ms = 300\n[proxy.circuit_breaker]\nfailure_threshold = 3\ntimeout_duration_secs = 10\n${extraToml}\n` +
      upstreamsToml([{ name: "primary", url: upstream.url }]),
    {},
    { timers },
  );
  opened.push(
    () => upstream.close(),
    () => proxy.close(),
  );
  return { upstream, proxy, timers, breaker: breakerOf(proxy, "primary") };
}

function breakerOf(proxy: TestProxy, name: string) {
  const upstream = proxy.breakwater.upstreams.find((u) => u.name === name);
  assert.ok(upstream);
  return upstream.circuit;
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

describe("outcomes and the fallback answers", () => {
  it("passes 5xx responses through, counts them as failures, then answers 503 without calling the upstream", async () => {
    const { upstream, proxy, breaker } = await setup();
    for (let i = 0; i < 3; i++) assert.equal((await post(proxy.url, rpc(i))).status, 500);
    assert.equal(breaker.state, "open");
    const answer = await post(proxy.url, rpc(7));
    assert.equal(answer.status, 503);
    assert.equal(answer.headers["retry-after"], "10");
    assert.equal(answer.headers["content-type"], "application/json");
    assert.deepEqual(answer.json(), {
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32603,
        message: "Upstream unavailable",
        data: { reason: "circuit_open", upstream: "primary", retryAfterMs: 10_000 },
      },
    });
    assert.equal(upstream.seen.length, 3);
  });

  it("answers a batch with one error per request, a notification with the bare status, others with plain JSON", async () => {
    const { proxy, breaker } = await setup();
    breaker.forceOpen();
    const batch = JSON.stringify([
      { jsonrpc: "2.0", id: "a", method: "x" },
      { jsonrpc: "2.0", method: "notifications/y" },
      { jsonrpc: "2.0", id: 2, method: "z" },
    ]);
    const answers = (await post(proxy.url, batch)).json() as { id: unknown }[];
    assert.deepEqual(
      answers.map((a) => a.id),
      ["a", 2],
    );
    const notification = await post(proxy.url, JSON.stringify({ jsonrpc: "2.0", method: "notifications/x" }));
    assert.deepEqual([notification.status, notification.text], [503, ""]);
    assert.ok(Number(notification.headers["retry-after"]) >= 1);
    const plain = await request(`${proxy.url}/anything`);
    assert.equal(plain.statusCode, 503);
    assert.deepEqual(await plain.body.json(), {
      error: "Service temporarily unavailable",
      upstream: "primary",
      retry_after: 10,
    });
    const truncated = await post(proxy.url, '{"jsonrpc":"2.0","id":1,"meth');
    assert.deepEqual(Object.keys(truncated.json() as object), ["error", "upstream", "retry_after"]);
  });

  it("answers 502 with reason connect_failed when the only upstream refuses connections", async () => {
    const port = await refusedPort();
    const proxy = await startProxy(upstreamsToml([{ name: "gone", url: `http://127.0.0.1:${port}` }]));
    opened.push(() => proxy.close());
    const answer = await post(proxy.url, rpc(3));
    assert.equal(answer.status, 502);
    assert.deepEqual(answer.json(), {
      jsonrpc: "2.0",
      id: 3,
      error: {
        code: -32603,
        message: "Upstream unavailable",
        data: { reason: "connect_failed", upstream: "gone" },
      },
    });
    assert.equal(breakerOf(proxy, "gone").metrics().failedRequests, 1);
  });

  it("answers 504 and aborts the upstream request when no headers come within request_timeout_ms", async () => {
    const { upstream, proxy, timers, breaker } = await setup("", hang);
    const pending = request(`${proxy.url}/slow`);
    await until(() => upstream.seen.length === 1, "the request reaches the upstream");
    await timers.advance(299);
    assert.equal(breaker.metrics().failedRequests, 0, "not yet");
    await timers.advance(1);
    const answer = await pending;
    assert.equal(answer.statusCode, 504);
    assert.deepEqual(await answer.body.json(), {
      error: "Gateway timeout: the upstream sent no response in time",
      upstream: "primary",
      reason: "timeout",
    });
    assert.equal(breaker.metrics().failedRequests, 1);
    await until(() => upstream.aborted() === 1, "the upstream sees its request aborted");
  });

  it("counts 4xx as neutral: they neither open the circuit nor count as calls", async () => {
    const { proxy, breaker } = await setup("", status(404));
    for (let i = 0; i < 5; i++) assert.equal((await post(proxy.url, rpc(i))).status, 404);
    assert.deepEqual([breaker.state, breaker.metrics().totalRequests], ["closed", 0]);
  });

  it("counts statuses listed in failure_statuses, and only those", async () => {
    const { proxy, breaker } = await setup('failure_statuses = [429, "5xx"]', status(429));
    for (let i = 0; i < 3; i++) await post(proxy.url, rpc(i));
    assert.equal(breaker.state, "open");
  });

  it("aborts the upstream request when the client goes away first, and counts it neutral", async () => {
    const { upstream, proxy, breaker } = await setup("", hang);
    const controller = new AbortController();
    const pending = request(`${proxy.url}/x`, { signal: controller.signal }).catch((e: unknown) => e);
    await until(() => upstream.seen.length === 1, "the request reaches the upstream");
    controller.abort();
    await pending;
    await until(() => upstream.aborted() === 1, "the upstream sees its request aborted");
    assert.deepEqual([breaker.metrics().totalRequests, breaker.metrics().failedRequests], [0, 0]);
  });

  it("closes the circuit again once probes succeed after the open time", async () => {
    const { upstream, proxy, breaker } = await setup();
    for (let i = 0; i < 3; i++) await post(proxy.url, rpc(i));
    assert.equal(breaker.state, "open");
    upstream.behave(echo("primary"));
    proxy.clock.advance(10_000);
    for (let i = 0; i < 3; i++) assert.equal((await post(proxy.url, rpc(i))).status, 200);
    assert.equal(breaker.state, "closed");
    const transitions = proxy
      .logs()
      .filter((l) => l["upstream"] === "primary" && l["from"] !== undefined) // state changes, not failures
      .map((l) => [l["level"], l["from"], l["to"], l["reason"]]);
    assert.deepEqual(transitions, [
      [40, "closed", "open", "consecutive_failures"],
      [30, "open", "half_open", "open_duration_elapsed"],
      [30, "half_open", "closed", "probes_succeeded"],
    ]);
  });
});

describe("a response that breaks off mid-body", () => {
  it("cuts the client's response short instead of hanging or crashing", async () => {
    const upstream: TestUpstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
      setTimeout(() => res.destroy(), 20);
    });
    const proxy = await startProxy(upstreamsToml([{ name: "u", url: upstream.url }]));
    opened.push(
      () => upstream.close(),
      () => proxy.close(),
    );
    const res = await request(proxy.url);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
    const breaker = breakerOf(proxy, "u");
    assert.deepEqual(
      [breaker.metrics().failedRequests, breaker.metrics().totalRequests],
      [1, 1],
      "a body cut short is a failure (SPEC §2), not the success its 200 promised",
    );
    const again = await request(proxy.url);
    assert.equal(again.statusCode, 200);
    again.body.destroy();
  });
});

describe("slow calls", () => {
  it("counts a response whose headers come later than slow_call_duration_ms as a failure", async () => {
    let proxy: TestProxy | undefined;
    const upstream = await startUpstream((_req, res) => {
      proxy?.clock.advance(50); // the breaker's clock: the upstream took 50 ms to answer
      res.writeHead(200).end("late");
    });
    proxy = await startProxy(
      `[proxy.circuit_breaker]\nslow_call_duration_ms = 20\nfailure_threshold = 2\n${upstreamsToml([{ name: "slow", url: upstream.url }])}`,
    );
    opened.push(
      () => upstream.close(),
      () => (proxy as TestProxy).close(),
    );
    for (let i = 0; i < 2; i++) assert.equal(await request(proxy.url).then((r) => r.body.text()), "late");
    assert.equal(breakerOf(proxy, "slow").state, "open");
  });

  it("measures a JSON-RPC call to its answer, not to its headers (SPEC §3.1)", async () => {
    let proxy: TestProxy | undefined;
    const upstream = await startUpstream((_req, res, body) => {
      const { id } = JSON.parse(body) as { id: unknown };
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.flushHeaders(); // the headers at once, the answer 50 ms later
      setTimeout(() => {
        proxy?.clock.advance(50);
        res.end(`data: ${JSON.stringify({ jsonrpc: "2.0", id, result: {} })}\n\n`);
      }, 20);
    });
    proxy = await startProxy(
      `[proxy.circuit_breaker]\nslow_call_duration_ms = 20\nfailure_threshold = 1\n${upstreamsToml([{ name: "slow", url: upstream.url }])}`,
    );
    opened.push(
      () => upstream.close(),
      () => (proxy as TestProxy).close(),
    );
    const call = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    await request(proxy.url, { method: "POST", body: call }).then((r) => r.body.text());
    assert.equal(
      breakerOf(proxy, "slow").state,
      "open",
      "a slow answer is a failure, however fast its headers",
    );
  });

  it("judges an SSE stream at its headers: a long stream is not a slow call", async () => {
    // the minute passes once the client holds the first event: the head was judged before it
    let finish: (() => void) | undefined;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      finish = () => res.end("data: last\n\n");
    });
    const proxy = await startProxy(
      `[proxy.circuit_breaker]\nslow_call_duration_ms = 20\nfailure_threshold = 1\n${upstreamsToml([{ name: "sse", url: upstream.url }])}`,
    );
    opened.push(
      () => upstream.close(),
      () => proxy.close(),
    );
    const res = await request(proxy.url);
    const chunks: string[] = [];
    for await (const chunk of res.body) {
      chunks.push(String(chunk));
      if (chunks.join("") === "data: first\n\n") {
        proxy.clock.advance(60_000); // a minute of streaming
        await until(() => finish !== undefined, "the upstream holding its stream");
        finish?.();
      }
    }
    assert.equal(chunks.join(""), "data: first\n\ndata: last\n\n");
    assert.deepEqual(
      [breakerOf(proxy, "sse").state, breakerOf(proxy, "sse").metrics().failedRequests],
      ["closed", 0],
    );
  });
});

describe("logs", () => {
  it("count rejected requests instead of logging them one by one", async () => {
    const { proxy, breaker } = await setup();
    breaker.forceOpen();
    const before = proxy.logs().length;
    for (let i = 0; i < 20; i++) await post(proxy.url, rpc(i));
    assert.equal(proxy.logs().length, before);
    assert.equal(breaker.metrics().rejectedRequests, 20);
  });
});
