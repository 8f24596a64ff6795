import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { rpc, startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A 200 JSON answer to every call: its own id with `payload` (a result or an error). */
const answering =
  (payload: Record<string, unknown>): Handler =>
  (_req, res, body) => {
    const { id } = JSON.parse(body) as { id: unknown };
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
  };

async function behind(handler: Handler, toml = "") {
  const fleet = await startFleet({ u: handler }, `[proxy.circuit_breaker]\nfailure_threshold = 3\n${toml}`);
  opened.push(fleet.close);
  const call = async (body = rpc(1, "tools/call")) => {
    const res = await request(fleet.proxy.url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const circuit = () => fleet.proxy.breakwater.upstreams[0]?.circuit.metrics();
  return { fleet, call, circuit };
}

describe("a JSON-RPC call is judged by its answer (SPEC §3.1)", () => {
  it("counts 200 answers carrying -32603 as failures, and opens the circuit on them", async () => {
    const { call, circuit } = await behind(
      answering({ error: { code: -32603, message: "backend database unreachable" } }),
    );
    for (let i = 0; i < 3; i++) assert.equal((await call()).status, 200, "passed on as they are");
    assert.equal(circuit()?.state, "open");
    assert.equal((await call()).status, 503);
  });

  it("counts the client's own faults (-32601, -32602) as neutral, and a result as a success", async () => {
    let code = -32601;
    const { fleet, call, circuit } = await behind((req, res, body) =>
      answering(code === 0 ? { result: {} } : { error: { code, message: "x" } })(req, res, body),
    );
    await call();
    code = -32602;
    await call();
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [0, 0]);
    code = 0;
    await call();
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [1, 0]);
    assert.ok(fleet);
  });

  it("judges by status alone with proxy.read_jsonrpc = false", async () => {
    const { call, circuit } = await behind(
      answering({ error: { code: -32603, message: "x" } }),
      "[proxy]\nread_jsonrpc = false",
    );
    await call();
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [1, 0]);
  });

  it("takes the codes of proxy.jsonrpc_failure_codes", async () => {
    const { call, circuit } = await behind(
      answering({ error: { code: -32050, message: "x" } }),
      '[proxy]\njsonrpc_failure_codes = ["-32099..-32050"]',
    );
    await call();
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("reads an event stream until the call's answer: progress first, then a failing error", async () => {
    const { call, circuit } = await behind((_req, res, body) => {
      const { id } = JSON.parse(body) as { id: unknown };
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(
        `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } })}\n\n`,
      );
      res.write(`data: ${JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32603, message: "x" } })}\n\n`);
      res.end();
    });
    const reply = await call();
    assert.match(reply.text, /notifications\/progress[\s\S]*-32603/, "the events reach the client in order");
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("counts an event stream that ends before the answer as a failure (stream cut)", async () => {
    const { call, circuit } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: {} })}\n\n`,
      );
    });
    await call();
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("judges a batch a failure when any of its answers fails", async () => {
    const { call, circuit } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify([
          { jsonrpc: "2.0", id: 1, result: {} },
          { jsonrpc: "2.0", id: 2, error: { code: -32000, message: "down" } },
        ]),
      );
    });
    await call(JSON.stringify([JSON.parse(rpc(1)), JSON.parse(rpc(2))]));
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("judges a 2xx JSON body that is no JSON-RPC response as §2 does: a success once complete", async () => {
    const { call, circuit } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    });
    await call();
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [1, 0]);
  });
});
