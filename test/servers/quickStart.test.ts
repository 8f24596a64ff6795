import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";

const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * The CLI run with flags only (no config file), on ports of the system's choosing; resolves with its
 * `breakwater listening` line. Stopped with SIGTERM when the tests end (killed if it lingers).
 */
async function runCli(args: string[]): Promise<Record<string, unknown>> {
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  });
  let errors = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    errors += text;
  });
  return new Promise((resolve, reject) => {
    let rest = "";
    child.on("exit", (code) => reject(new Error(`breakwater exited with ${code}: ${errors}`)));
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      const lines = (rest + text).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry["msg"] === "breakwater listening") resolve(entry);
      }
    });
  });
}

async function whoami(url: string): Promise<string> {
  const client = new Client({ name: "breakwater-quick-start", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name: "whoami", arguments: {} });
    return (result.content as { text: string }[])[0]?.text ?? "";
  } finally {
    await client.close();
  }
}

describe("the quick start with --server (SPEC §7.1)", () => {
  it("--server a=URL --server a=URL2 --server b=URL3 serves a (two replicas) on /a and b on /b", async () => {
    const servers = [new DemoMcpServer("alpha"), new DemoMcpServer("gamma"), new DemoMcpServer("beta")];
    for (const server of servers) await server.start();
    cleanups.push(async () => {
      for (const server of servers) await server.close();
    });
    const [alpha, gamma, beta] = servers.map((s) => s.url);
    const listening = await runCli([
      ...["--server", `a=${alpha}`, "--server", `a=${gamma}`, "--server", `b=${beta}`],
    ]);
    const root = String(listening["proxy"]);
    assert.match(root, /^http:\/\/127\.0\.0\.1:\d+$/);

    const onA = new Set<string>();
    for (let i = 0; i < 4; i++) onA.add(await whoami(`${root}/a`));
    assert.deepEqual([...onA].sort(), ["alpha", "gamma"], "a's two replicas, balanced");
    for (let i = 0; i < 3; i++) assert.equal(await whoami(`${root}/b`), "beta");
    const outside = await request(`${root}/c`, { method: "POST", body: "{}" });
    assert.equal(outside.statusCode, 404);
    await outside.body.dump();

    const health = (await (await request(`${String(listening["admin"])}/health`)).body.json()) as {
      servers: unknown;
    };
    assert.deepEqual(health.servers, {
      a: { status: "healthy", upstreams: ["a-1", "a-2"] },
      b: { status: "healthy", upstreams: ["b-1"] },
    });
  });
});
