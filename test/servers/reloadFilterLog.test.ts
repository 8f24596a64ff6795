import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { planServers } from "../../src/reload/serverPlan.ts";
import { settingChanges } from "../../src/reload/settingChanges.ts";

const dir = mkdtempSync(join(tmpdir(), "breakwater-filter-log-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const load = (toml: string) => {
  const path = join(dir, `c${++files}.toml`);
  writeFileSync(path, toml);
  return loadConfig({ configPath: path }, {});
};
const server = (exclude: string) =>
  `[[servers]]\nname = "a"\nroute = "/a"\ntools = { exclude = [${exclude}] }\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n`;

describe("a reload that edits a server's tools globs", () => {
  it("is told somewhere in the reload's log (servers.changed or a changed key)", () => {
    const before = load(server('"delete_*"'));
    const after = load(server('"delete_*", "drop_*"'));
    const servers = planServers(before.config.servers, after.config.servers);
    const settings = settingChanges(before, after);
    assert.ok(
      servers.changed.includes("a") || settings.applied.some((k) => k.startsWith("servers")),
      `the filter edit is logged nowhere: servers ${JSON.stringify(servers)}, settings ${JSON.stringify(settings)}`,
    );
  });
});
