/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, --suite all)
 * run twice at once against the project's reference MCP server: directly, and through Breakwater on
 * route /mcp with its default (loopback) edge rules. Fails (exit 1) when a scenario passes directly but
 * not through the proxy: whatever the proxy changes must not cost an MCP server a conformance check.
 * `npm run conformance`; `.ci/run` runs it. Loopback only; each run is bounded by a timeout.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { table } from "../bench/harness.ts";
import { Breakwater } from "../src/app/Breakwater.ts";
import { createLogger } from "../src/app/logger.ts";
import { loadConfig } from "../src/config/loadConfig.ts";
import { ReferenceServer } from "../test/conformance/ReferenceServer.ts";

const cli = fileURLToPath(
  new URL("../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url),
);
const runTimeoutMs = 240_000;

interface Scenario {
  passed: number;
  failed: number;
}

/** Runs the server suite against `url`; the summary's line per scenario. */
function runSuite(url: string): Promise<Map<string, Scenario>> {
  const cwd = mkdtempSync(join(tmpdir(), "breakwater-conformance-")); // the suite writes results/ here
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "server", "--url", url, "--suite", "all"], { cwd });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr.resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), runTimeoutMs);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      const scenarios = new Map<string, Scenario>();
      for (const match of output.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu)) {
        scenarios.set(match[1] as string, { passed: Number(match[2]), failed: Number(match[3]) });
      }
      if (scenarios.size === 0)
        reject(new Error(`no summary from the conformance suite for ${url}:\n${output}`));
      else resolve(scenarios);
    });
  });
}

const server = new ReferenceServer();
await server.start();
const { config } = loadConfig({
  listen: "127.0.0.1:0",
  adminListen: "127.0.0.1:0",
  route: "/mcp",
  upstreams: [server.url],
});
const breakwater = new Breakwater({ config, logger: createLogger({ write: () => {} } as never) });
const { proxy } = await breakwater.start();
const throughProxy = `http://127.0.0.1:${proxy.port}/mcp`;

let exitCode = 0;
try {
  const [direct, proxied] = await Promise.all([runSuite(server.url), runSuite(throughProxy)]);
  const rows: (string | number)[][] = [];
  const lost: string[] = [];
  for (const [name, alone] of direct) {
    const behind = proxied.get(name) ?? { passed: 0, failed: 1 };
    const ok = (s: Scenario) => s.failed === 0;
    if (ok(alone) && !ok(behind)) lost.push(name);
    rows.push([
      name,
      `${alone.passed}/${alone.passed + alone.failed}`,
      `${behind.passed}/${behind.passed + behind.failed}`,
    ]);
  }
  const sum = (m: Map<string, Scenario>) => [...m.values()].reduce((n, s) => n + s.passed, 0);
  const total = (m: Map<string, Scenario>) => [...m.values()].reduce((n, s) => n + s.passed + s.failed, 0);
  console.log(
    `# MCP conformance suite (server, --suite all): checks passed, directly and through Breakwater\n`,
  );
  console.log(table(["scenario", "directly", "through Breakwater"], rows));
  console.log(
    `\nchecks passed: ${sum(direct)}/${total(direct)} directly, ${sum(proxied)}/${total(proxied)} through Breakwater`,
  );
  if (lost.length > 0) {
    console.log(`\nFAILED: passes directly but not through Breakwater: ${lost.join(", ")}`);
    exitCode = 1;
  } else console.log("\nEvery scenario that passes directly passes through Breakwater.");
} finally {
  await breakwater.close(1_000);
  await server.close();
}
process.exit(exitCode);
