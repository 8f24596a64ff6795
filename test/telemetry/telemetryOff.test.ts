import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, upstreamsToml } from "../support/proxy.ts";
import { type SeenRequest, startUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "./telemetryRig.ts";

const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const moduleLogHook = fileURLToPath(new URL("./moduleLogHook.ts", import.meta.url));

/** The client's trace context, in its body and its headers: what Breakwater must leave alone when off. */
const clientTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const clientHeaders = {
  traceparent: "00-11111111111111111111111111111111-2222222222222222-01",
  tracestate: "vendor=client",
};
// spaces and a number as the client wrote them: a body re-serialized anywhere would lose them
const clientBody =
  '{"jsonrpc":"2.0", "id":1, "method":"tools/call", "params":{"name":"add", "arguments":{"n":1.50},' +
  ` "_meta":{"traceparent":"${clientTraceparent}", "tracestate":"vendor=meta"}}}`;

interface Run {
  /** The request as the upstream got it. */
  readonly seen: SeenRequest;
  /** `/metrics` after the request. */
  readonly metrics: string;
  /** Requests that had reached the receiver once the proxy had closed. */
  readonly exports: number;
}

/**
 * One request carrying trace context through a proxy, `[telemetry]` pointing at a receiver or not (the
 * receiver runs either way), then the proxy closed: what the upstream, `/metrics` and the receiver saw.
 * A proxy with telemetry exports what it holds as it closes, so what has not reached the receiver once
 * `close` resolved never will.
 */
async function throughProxy(telemetry: boolean): Promise<Run> {
  const receiver = await OtlpReceiver.start();
  const upstream = await startUpstream(mcpUpstream());
  try {
    // no OTEL_* variable either: the env is empty
    const proxy = await startProxy(
      upstreamsToml([{ name: "tools", url: `${upstream.url}/mcp` }]) +
        (telemetry ? `[telemetry]\notlp_endpoint = "${receiver.url}"\n` : ""),
      {},
    );
    let metrics: string;
    try {
      const answer = await post(`${proxy.url}/mcp`, clientBody, clientHeaders);
      assert.equal(answer.status, 200, answer.body);
      metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    } finally {
      await proxy.close();
    }
    const seen = upstream.seen[0];
    assert.ok(seen, "the request reached the upstream");
    return { seen, metrics, exports: receiver.requests.length };
  } finally {
    await upstream.close();
    await receiver.stop();
  }
}

describe("telemetry off (SPEC §9)", () => {
  it("forwards a request's body byte for byte and its traceparent header as the client sent it", async () => {
    const { seen } = await throughProxy(false);
    assert.equal(seen.body, clientBody);
    assert.equal(seen.headers["traceparent"], clientHeaders.traceparent);
    assert.equal(seen.headers["tracestate"], clientHeaders.tracestate);
  });

  it("exports nothing, even as it closes, and shows no MCP duration histogram on /metrics", async () => {
    const { metrics, exports } = await throughProxy(false);
    assert.equal(exports, 0);
    assert.doesNotMatch(metrics, /mcp_server_operation_duration_seconds/);
    assert.doesNotMatch(metrics, /mcp_client_operation_duration_seconds/);
    assert.doesNotMatch(metrics, /breakwater_telemetry_dropped_total/);
  });

  it("rewrites the context, exports by close and shows the histograms once telemetry is on: the checks above can see them", async () => {
    const { seen, metrics, exports } = await throughProxy(true);
    assert.notEqual(seen.body, clientBody);
    assert.notEqual(seen.headers["traceparent"], clientHeaders.traceparent);
    assert.ok(exports > 0, "the proxy exported as it closed");
    assert.match(metrics, /mcp_server_operation_duration_seconds/);
  });

  it("loads no telemetry module and no OpenTelemetry SDK in a process serving requests", async () => {
    const modules = await modulesOfRun(false);
    assert.ok(
      modules.some((url) => url.includes("/src/proxy/ProxyServer.ts")),
      "the log holds the proxy's modules",
    );
    const loaded = modules.filter(isTelemetry);
    assert.deepEqual(loaded.slice(0, 3), [], `${loaded.length} telemetry modules loaded`);
  });

  it("loads the telemetry modules and the SDK once telemetry is on: the check above can see them", async () => {
    const modules = await modulesOfRun(true);
    assert.ok(modules.some((url) => url.includes("/src/telemetry/")));
    assert.ok(modules.some((url) => url.includes("/@opentelemetry/sdk-trace/")));
    assert.ok(modules.some(isTelemetry));
  });
});

/**
 * Breakwater's telemetry, or an OpenTelemetry package besides the API: prom-client requires
 * `@opentelemetry/api` itself (lib/metrics/processCpuTotal.js, for exemplars), telemetry on or off.
 */
function isTelemetry(url: string): boolean {
  return (
    url.includes("/src/telemetry/") ||
    (url.includes("/@opentelemetry/") && !url.includes("/@opentelemetry/api/"))
  );
}

/**
 * The modules a `breakwater` process resolves (the CLI from src/, under {@link moduleLogHook}) while it
 * starts, serves a tool call and `/metrics`, and stops on SIGTERM; `[telemetry]` pointing at a receiver
 * or not, and no OTEL_* variable in its environment.
 */
async function modulesOfRun(telemetry: boolean): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-modules-"));
  const receiver = await OtlpReceiver.start();
  const upstream = await startUpstream(mcpUpstream());
  const log = join(dir, "modules");
  const config = join(dir, "breakwater.toml");
  writeFileSync(
    config,
    upstreamsToml([{ name: "tools", url: `${upstream.url}/mcp` }]) +
      (telemetry ? `[telemetry]\notlp_endpoint = "${receiver.url}"\n` : ""),
  );
  const env: NodeJS.ProcessEnv = { BREAKWATER_MODULE_LOG: log };
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith("OTEL_") && name !== "NODE_OPTIONS") env[name] = value;
  const child = spawn(
    process.execPath,
    [
      "--import",
      moduleLogHook,
      cli,
      "--config",
      config,
      "--listen",
      "127.0.0.1:0",
      "--admin-listen",
      "127.0.0.1:0",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const listening = await new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
      let buffer = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
          buffer = buffer.slice(nl + 1);
          if (line["msg"] === "breakwater listening")
            resolve(line as unknown as { proxy: string; admin: string });
        }
      });
      child.once("exit", (code) =>
        reject(new Error(`breakwater exited ${code} before listening: ${stderr}`)),
      );
    });
    const answer = await post(listening.proxy, toolCall(1, "add", {}));
    assert.equal(answer.status, 200, answer.body);
    assert.equal((await fetch(`${listening.admin}/metrics`)).status, 200);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    return readFileSync(log, "utf8").split("\n").filter(Boolean);
  } finally {
    child.kill("SIGKILL");
    await upstream.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
