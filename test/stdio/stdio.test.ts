import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { alive } from "../support/processes.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { until } from "../support/until.ts";

const server = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Breakwater with one stdio upstream running the test server (`args` after its path). */
async function stdioProxy(extra = "", args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<TestProxy> {
  const command = JSON.stringify([process.execPath, server, ...args]);
  const proxy = await startProxy(`[[upstreams]]\nname = "local"\ncommand = ${command}\n${extra}\n`, env);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function connect(
  proxy: TestProxy,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: "breakwater-stdio-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(proxy.url));
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

/** A client's `initialize`, and the headers of a Streamable HTTP POST. */
const init = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };

const textOf = (result: unknown) => (result as { content?: { text: string }[] }).content?.[0]?.text ?? "";

describe("stdio MCP servers as upstreams (SPEC §5)", () => {
  it("runs a process per session and serves it over Streamable HTTP, progress included", async () => {
    const proxy = await stdioProxy();
    const { client, transport } = await connect(proxy);
    assert.match(
      transport.sessionId ?? "",
      /^bw1\.[A-Za-z0-9_-]+$/,
      "a token sealing the session Breakwater issued",
    );
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), [
      "ask",
      "big",
      "crash",
      "echo",
      "env",
      "hold",
      "later",
      "mute",
      "pid",
      "progress",
    ]);
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "hi" } })), "hi");
    const steps: number[] = [];
    const done = await client.callTool({ name: "progress", arguments: { steps: 3 } }, undefined, {
      onprogress: (p) => steps.push(p.progress),
    });
    assert.deepEqual([textOf(done), steps], ["3 steps", [1, 2, 3]]);
    const other = await connect(proxy);
    const pids = [
      textOf(await client.callTool({ name: "pid", arguments: {} })),
      textOf(await other.client.callTool({ name: "pid", arguments: {} })),
    ];
    assert.notEqual(pids[0], pids[1], "one process per session");
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 0);
  });

  it("carries the server's own requests (sampling) and notifications (logging) to the client and its answers back", async () => {
    const proxy = await stdioProxy();
    const client = new Client(
      { name: "breakwater-stdio-test", version: "1.0.0" },
      { capabilities: { sampling: {} } },
    );
    const questions: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const content = req.params.messages[0]?.content as { text: string };
      questions.push(content.text);
      return {
        role: "assistant",
        model: "test",
        content: { type: "text", text: `42 (to: ${content.text})` },
      };
    });
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (note) => {
      logs.push(note.params.data);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url)));
    cleanups.push(() => client.close());
    const answer = await client.callTool({ name: "ask", arguments: { question: "the answer?" } });
    assert.equal(textOf(answer), "42 (to: the answer?)");
    assert.deepEqual([questions, logs], [["the answer?"], ["asking: the answer?"]]);
    // a notification that belongs to no request comes on the session's GET stream
    await client.callTool({ name: "later", arguments: { note: "on its own" } });
    await until(() => logs.length === 2, "the later log message arrives");
    assert.equal(logs[1], "later: on its own");
  });

  it("passes on PATH, HOME, LANG and the upstream's env, and nothing else of the proxy's environment", async () => {
    process.env["BREAKWATER_TEST_SECRET"] = "s3cret";
    cleanups.push(async () => {
      delete process.env["BREAKWATER_TEST_SECRET"];
    });
    const proxy = await stdioProxy('env = { GREETING = "hello" }');
    const { client } = await connect(proxy);
    const env = async (name: string) => textOf(await client.callTool({ name: "env", arguments: { name } }));
    assert.equal(await env("BREAKWATER_TEST_SECRET"), "(unset)");
    assert.equal(await env("GREETING"), "hello");
    assert.equal(await env("PATH"), process.env["PATH"]);
  });

  it("answers a call pending when its process dies with upstream_exited, then 404 for the session", async () => {
    const proxy = await stdioProxy("[upstreams.circuit_breaker]\nfailure_threshold = 1");
    const { client, transport } = await connect(proxy);
    await assert.rejects(
      client.callTool({ name: "crash", arguments: {} }),
      /The MCP server process exited \(exit code 3\)/,
    );
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "open", "a failure for the circuit");
    const res = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": transport.sessionId as string },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
    });
    await res.body.text();
    assert.equal(res.statusCode, 404, "the session is gone: the client re-initializes");
    const lines = proxy.logs().filter((line) => line["msg"] === "stdio stderr");
    assert.deepEqual(
      lines.map((line) => [line["upstream"], line["line"]]),
      [["local", "about to crash"]],
    );
  });

  // idle expiry: test/stdio/StdioUpstream.test.ts, which steps time
  it("ends the session's process on DELETE, and when the proxy closes", async () => {
    const proxy = await stdioProxy();
    const first = await connect(proxy);
    const pid = Number(textOf(await first.client.callTool({ name: "pid", arguments: {} })));
    await first.transport.terminateSession();
    await until(() => !alive(pid), "DELETE stops the process");
    const last = await connect(proxy);
    const lastPid = Number(textOf(await last.client.callTool({ name: "pid", arguments: {} })));
    await proxy.breakwater.close(1_000);
    assert.equal(alive(lastPid), false, "no child outlives the proxy's close");
  });

  it("opens the circuit of a crash-looping command (502s), and spawns nothing while it is open", async () => {
    const proxy = await stdioProxy("[upstreams.circuit_breaker]\nfailure_threshold = 2", ["--fail-start"]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(proxy.url, { method: "POST", headers, body: init });
      statuses.push(res.statusCode);
      await res.body.text();
    }
    assert.deepEqual(statuses, [502, 502, 503, 503]);
    const metrics = await request(`${proxy.adminUrl}/metrics`).then((r) => r.body.text());
    assert.match(metrics, /breakwater_stdio_exits_total\{upstream="local",reason="crashed"\} 2/);
    assert.match(metrics, /breakwater_stdio_processes\{upstream="local"\} 0/);
  });

  it("answers 502 for a command that cannot start, 503 overloaded past max_processes, 400 without a session", async () => {
    const missing = await startProxy(
      '[[upstreams]]\nname = "missing"\ncommand = ["/nonexistent/mcp-server"]\n',
    );
    cleanups.push(() => missing.close());
    const cannot = await request(missing.url, { method: "POST", headers, body: init });
    assert.equal(cannot.statusCode, 502);
    await cannot.body.text();
    assert.equal(missing.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 1);

    const proxy = await stdioProxy("max_processes = 1");
    await connect(proxy);
    // the client's GET stream keeps its session busy: no idle session to end for room
    await until(() => proxy.breakwater.upstreams[0]?.processSlots?.busy === 1, "the GET stream is open");
    const full = await request(proxy.url, { method: "POST", headers, body: init });
    assert.equal(full.statusCode, 503);
    assert.equal(
      ((await full.body.json()) as { error: { data: { reason: string } } }).error.data.reason,
      "overloaded",
    );
    const metrics = await (await request(`${proxy.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /breakwater_upstream_requests_total\{upstream="local",outcome="overloaded"\} 1/);
    const warned = proxy.logs().filter((line) => line["msg"]?.toString().startsWith("stdio upstream full"));
    assert.deepEqual(
      warned.map((line) => [line["level"], line["upstream"], line["max_processes"]]),
      [[40, "local", 1]],
      "logged at warn",
    );
    const noSession = await request(proxy.url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    assert.equal(noSession.statusCode, 400);
    await noSession.body.text();
  });

  it("balances sessionless calls onto the url upstreams of a mixed pool, and initialize onto any", async () => {
    const remote = new DemoMcpServer("remote");
    await remote.start();
    cleanups.push(() => remote.close());
    const proxy = await stdioProxy(`[[upstreams]]\nname = "remote"\nurl = "${remote.url}"\n`);
    const statuses: number[] = [];
    for (let id = 1; id <= 4; id++) {
      const res = await request(proxy.url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "whoami", arguments: {} },
        }),
      });
      statuses.push(res.statusCode);
      await res.body.text();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200], "never the stdio upstream's 400");
    const names = async () => (await (await connect(proxy)).client.listTools()).tools.map((t) => t.name);
    const served = [(await names()).includes("pid"), (await names()).includes("pid")];
    assert.deepEqual(served.sort(), [false, true], "round robin: one session on each upstream");
  });

  it("shows each stdio upstream's live and busy processes and its limit in /health, and nothing for url ones", async () => {
    const health = async (of: TestProxy) =>
      (await (await request(`${of.adminUrl}/health`)).body.json()) as Record<string, unknown>;
    const proxy = await stdioProxy("max_processes = 3");
    assert.deepEqual((await health(proxy))["processes"], { local: { live: 0, busy: 0, limit: 3 } });
    const idle = await request(proxy.url, { method: "POST", headers, body: init });
    await idle.body.text();
    await connect(proxy); // its GET stream stands: a busy session
    const stdio = proxy.breakwater.upstreams[0];
    await until(() => stdio?.processSlots?.busy === 1, "the client's GET stream is open");
    const report = await health(proxy);
    assert.deepEqual(report["processes"], { local: { live: 2, busy: 1, limit: 3 } });
    assert.deepEqual(
      Object.keys(report).sort(),
      ["circuit_breakers", "processes", "servers", "status"],
      "fields kept",
    );
    const metrics = await (await request(`${proxy.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /breakwater_stdio_processes\{upstream="local"\} 2/);
    assert.match(metrics, /breakwater_stdio_processes_busy\{upstream="local"\} 1/);

    const remote = new DemoMcpServer("remote");
    await remote.start();
    cleanups.push(() => remote.close());
    const http = await startProxy(`[[upstreams]]\nname = "remote"\nurl = "${remote.url}"\n`);
    cleanups.push(() => http.close());
    assert.deepEqual(
      Object.keys(await health(http)).sort(),
      ["circuit_breakers", "servers", "status"],
      "no processes",
    );
  });

  it("on SIGTERM, the proxy (its command) stops every child of its live sessions and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-stdio-"));
    const config = join(dir, "breakwater.toml");
    writeFileSync(
      config,
      `[server]\nlisten = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n` +
        `[[upstreams]]\nname = "local"\ncommand = ${JSON.stringify([process.execPath, server])}\n`,
    );
    const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
    const child = spawn(process.execPath, [cli, "--config", config], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout }).on("line", (line) => {
          const entry = JSON.parse(line) as Record<string, string>;
          if (entry["msg"] === "breakwater listening") resolve(entry["proxy"] as string);
        });
      });
      const pids: number[] = [];
      for (let i = 0; i < 2; i++) {
        const client = new Client({ name: "sigterm-test", version: "1.0.0" });
        await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        pids.push(Number(textOf(await client.callTool({ name: "pid", arguments: {} }))));
        // the clients leave without ending their sessions (no DELETE): their standing GET streams would
        // otherwise hold the shutdown for its whole grace period
        await client.close();
      }
      assert.deepEqual(pids.map(alive), [true, true]);
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.deepEqual(pids.map(alive), [false, false], "no child outlives the proxy");
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
