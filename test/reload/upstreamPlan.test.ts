import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { UpstreamConfig } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { planUpstreams, type RunningUpstream } from "../../src/reload/upstreamPlan.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

const dir = mkdtempSync(join(tmpdir(), "breakwater-plan-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function upstreams(toml: string): readonly UpstreamConfig[] {
  const path = join(dir, "c.toml");
  writeFileSync(path, toml);
  return loadConfig({ configPath: path }).config.upstreams;
}

function running(configs: readonly UpstreamConfig[]): Map<string, RunningUpstream> {
  return new Map(
    configs.map((config) => [config.name, { config, requestTimeoutMs: 30_000, upstream: {} as Upstream }]),
  );
}

const stdio = (extra = "") => `[[upstreams]]\nname = "files"\ncommand = ["node", "server.js"]\n${extra}\n`;

describe("what a reload does with each upstream", () => {
  it("keeps a stdio upstream (and its processes) unless its process settings change; keeps its circuit unless the command does", () => {
    const now = running(upstreams(stdio()));
    const same = planUpstreams(now, upstreams(stdio()), 30_000);
    assert.equal(same.fates.get("files")?.kind, "kept");
    const env = planUpstreams(now, upstreams(stdio('env = { DEBUG = "1" }')), 30_000);
    assert.deepEqual(env.fates.get("files"), {
      kind: "rebuilt",
      running: now.get("files"),
      keepsCircuit: true,
    });
    const other = planUpstreams(now, upstreams(stdio().replace("server.js", "other.js")), 30_000);
    assert.deepEqual(other.fates.get("files"), {
      kind: "rebuilt",
      running: now.get("files"),
      keepsCircuit: false,
    });
  });

  it("rebuilds an HTTP upstream for a new request timeout, keeping its circuit; adds and removes by name", () => {
    const http = (name: string) => `[[upstreams]]\nname = "${name}"\nurl = "http://127.0.0.1:1/mcp"\n`;
    const now = running(upstreams(http("a") + http("b")));
    const plan = planUpstreams(now, upstreams(http("a") + http("c")), 5_000);
    assert.deepEqual(plan.fates.get("a"), { kind: "rebuilt", running: now.get("a"), keepsCircuit: true });
    assert.deepEqual(plan.fates.get("c"), { kind: "added" });
    assert.deepEqual(
      plan.removed.map((r) => r.config.name),
      ["b"],
    );
  });
});
