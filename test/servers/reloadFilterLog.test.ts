import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planServers } from "../../src/reload/serverPlan.ts";
import { settingChanges } from "../../src/reload/settingChanges.ts";
import { loadToml } from "../support/configFiles.ts";

const load = loadToml;
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
