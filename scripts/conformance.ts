/**
 * The official MCP conformance suite, server side, run against the project's reference MCP servers, each
 * directly and through Breakwater (route /mcp, default loopback edge rules), all runs at once:
 * - @modelcontextprotocol/conformance 0.1.16, `--suite all` (MCP 2025-11-25), against ReferenceServer (SDK 1.x);
 * - 0.2.0-alpha.12 (installed as conformance-2026), `--requirements 2026-07-28` (SPEC §8.4), against
 *   ReferenceServer2026 (SDK 2.x).
 * Fails (exit 1) when a scenario passes directly but not through the proxy: whatever the proxy changes must
 * not cost an MCP server a conformance check. `npm run conformance`; `.ci/run` runs it. Loopback only; each
 * run is bounded by a timeout.
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
import { ReferenceServer2026 } from "../test/conformance/ReferenceServer2026.ts";

const runTimeoutMs = 120_000;

interface Scenario {
  passed: number;
  failed: number;
}

/** What one run of a suite reported: a line per scenario, and the scenarios it ran without scoring them. */
interface Report {
  scenarios: Map<string, Scenario>;
  notScored: Set<string>;
}

interface Suite {
  title: string;
  /** The suite's CLI, by path: `.bin/conformance` is whichever version npm linked last. */
  cli: string;
  args: (url: string) => string[];
  server: { readonly url: string; start(): Promise<void>; close(): Promise<void> };
}

const cliAt = (pkg: string) =>
  fileURLToPath(new URL(`../node_modules/${pkg}/dist/index.js`, import.meta.url));
const suites: Suite[] = [
  {
    title: "MCP conformance suite 0.1.16 (server, --suite all, MCP 2025-11-25)",
    cli: cliAt("@modelcontextprotocol/conformance"),
    args: (url) => ["server", "--url", url, "--suite", "all"],
    server: new ReferenceServer(),
  },
  {
    title: "MCP conformance suite 0.2.0-alpha.12 (server, --requirements 2026-07-28)",
    cli: cliAt("conformance-2026"),
    args: (url) => ["server", "--url", url, "--requirements", "2026-07-28"],
    server: new ReferenceServer2026(),
  },
];

/** Runs a suite against `url`: its summary's line per scenario. */
function runSuite(suite: Suite, url: string): Promise<Report> {
  const cwd = mkdtempSync(join(tmpdir(), "breakwater-conformance-")); // the suite writes results/ here
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [suite.cli, ...suite.args(url)], { cwd });
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
      // `--requirements` lists what it ran without scoring (extensions, pending) as "  ✗ name (reason)"
      const notScored = new Set(
        [...output.matchAll(/^ {2}[✓✗] ([\w-]+) \([\w-]+\)$/gmu)].map((m) => m[1] as string),
      );
      if (scenarios.size === 0) reject(new Error(`no summary from ${suite.title} for ${url}:\n${output}`));
      else resolve({ scenarios, notScored });
    });
  });
}

/** Starts the suite's server and a Breakwater in front of it, runs both at once; the scenarios lost behind it. */
async function runBoth(suite: Suite): Promise<string[]> {
  await suite.server.start();
  const { config } = loadConfig({
    listen: "127.0.0.1:0",
    adminListen: "127.0.0.1:0",
    route: "/mcp",
    upstreams: [suite.server.url],
  });
  const breakwater = new Breakwater({ config, logger: createLogger({ write: () => {} } as never) });
  try {
    const { proxy } = await breakwater.start();
    const throughProxy = `http://127.0.0.1:${proxy.port}/mcp`;
    const [direct, proxied] = await Promise.all([
      runSuite(suite, suite.server.url),
      runSuite(suite, throughProxy),
    ]);
    return compare(suite, direct, proxied);
  } finally {
    await breakwater.close(1_000);
    await suite.server.close();
  }
}

/** Prints the suite's table and totals; the scenarios that pass directly but not through the proxy. */
function compare(suite: Suite, direct: Report, proxied: Report): string[] {
  const ok = (s: Scenario) => s.failed === 0;
  const rows: (string | number)[][] = [];
  const lost: string[] = [];
  for (const [name, alone] of direct.scenarios) {
    const behind = proxied.scenarios.get(name) ?? { passed: 0, failed: 1 };
    if (ok(alone) && !ok(behind)) lost.push(name);
    const scored = direct.notScored.has(name) ? " (not scored)" : "";
    const checks = (s: Scenario) => `${s.passed}/${s.passed + s.failed}`;
    rows.push([`${name}${scored}`, checks(alone), checks(behind)]);
  }
  const sum = (r: Report, pick: (s: Scenario) => number) =>
    [...r.scenarios.values()].reduce((n, s) => n + pick(s), 0);
  const checks = (r: Report) => `${sum(r, (s) => s.passed)}/${sum(r, (s) => s.passed + s.failed)}`;
  const scored = (r: Report) => [...r.scenarios].filter(([name]) => !direct.notScored.has(name));
  const scenarios = (r: Report) => `${scored(r).filter(([, s]) => ok(s)).length}/${scored(r).length}`;
  console.log(`# ${suite.title}: directly and through Breakwater\n`);
  console.log(table(["scenario", "directly", "through Breakwater"], rows));
  console.log(`\nchecks passed: ${checks(direct)} directly, ${checks(proxied)} through Breakwater`);
  console.log(
    `scored scenarios passed: ${scenarios(direct)} directly, ${scenarios(proxied)} through Breakwater\n`,
  );
  return lost;
}

let exitCode = 0;
const lost: string[] = [];
for (const result of await Promise.allSettled(suites.map(runBoth))) {
  if (result.status === "fulfilled") lost.push(...result.value);
  else {
    console.error(result.reason);
    exitCode = 1;
  }
}
if (lost.length > 0) {
  console.log(`FAILED: passes directly but not through Breakwater: ${lost.join(", ")}`);
  exitCode = 1;
} else if (exitCode === 0) console.log("Every scenario that passes directly passes through Breakwater.");
process.exit(exitCode);
