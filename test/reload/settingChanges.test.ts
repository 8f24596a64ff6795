import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Config } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { ConfigReloader } from "../../src/reload/ConfigReloader.ts";
import { settingChanges } from "../../src/reload/settingChanges.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { loadToml } from "../support/configFiles.ts";

const load = loadToml;

const a = '[[servers]]\nname = "a"\nroute = "/a"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n';

describe("settings a reload changes, besides upstreams and servers", () => {
  it("a reload that edits, adds or removes a server names no changed key (the server plan tells it)", () => {
    const before = load(a);
    const edited = load(
      '[[servers]]\nname = "a"\nroute = "/a/mcp"\ntools = { exclude = ["x"] }\nmax_in_flight = 3\n' +
        "[servers.circuit_breaker]\nfailure_threshold = 2\n" +
        '[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:2/"\n' +
        '[[servers]]\nname = "b"\nroute = "/b"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:3/"\n',
    );
    assert.deepEqual(settingChanges(before, edited), { applied: [], needRestart: [] });
    assert.deepEqual(settingChanges(edited, before), { applied: [], needRestart: [] });
  });

  it("still names a changed key beside an edited server", () => {
    const before = load(a);
    const after_ = load(`[server]\nmax_body_bytes = 7\n${a.replace('"/a"', '"/x"')}`);
    assert.deepEqual(settingChanges(before, after_), { applied: ["server.max_body_bytes"], needRestart: [] });
  });
});

describe("[aggregate] in a reload (SPEC §7.2)", () => {
  const b = '[[servers]]\nname = "b"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:2/"\n';
  const withAggregate = (lines: string) => `[aggregate]\nroute = "/mcp"\n${lines}${a}${b}`;
  const withRoute = `${a}${b.replace('name = "b"\n', 'name = "b"\nroute = "/b"\n')}`;

  it("tells an edit of [aggregate] as the aggregate changed, no key of it as changed or needing a restart", () => {
    const before = load(withAggregate(""));
    for (const edit of [
      'separator = "-"\n',
      "grace_secs = 1\n",
      'servers = ["b"]\n',
      "list_timeout_ms = 9\n",
    ]) {
      assert.deepEqual(
        settingChanges(before, load(withAggregate(edit))),
        { applied: [], needRestart: [], aggregate: "changed" },
        edit,
      );
    }
    const moved = load(withAggregate("").replace('"/mcp"', '"/all"'));
    assert.deepEqual(settingChanges(before, moved), { applied: [], needRestart: [], aggregate: "changed" });
    assert.deepEqual(settingChanges(before, load(withAggregate(""))), { applied: [], needRestart: [] });
  });

  it("tells the aggregate added and removed", () => {
    const without = load(withRoute);
    const with_ = load(`[aggregate]\nroute = "/mcp"\n${withRoute}`);
    assert.deepEqual(settingChanges(without, with_), { applied: [], needRestart: [], aggregate: "added" });
    assert.deepEqual(settingChanges(with_, without), { applied: [], needRestart: [], aggregate: "removed" });
  });

  it("the reloader applies an added, changed and removed aggregate and logs it beside the servers", () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-aggregate-reload-"));
    const path = join(dir, "breakwater.toml");
    try {
      writeFileSync(path, withRoute);
      const { logger, lines } = capturedLog();
      const applied: Config[] = [];
      const loadFile = () => loadConfig({ configPath: path }, {});
      const reloader = new ConfigReloader({
        load: loadFile,
        running: loadFile(),
        apply: (config) => {
          applied.push(config);
          return {
            added: [],
            removed: [],
            rebuilt: [],
            kept: [],
            servers: { added: [], removed: [], changed: [] },
          };
        },
        logger,
      });
      const reload = (toml: string) => {
        writeFileSync(path, toml);
        const count = lines.length;
        reloader.reload("SIGHUP");
        return lines.slice(count).find((l) => l["msg"] === "config reloaded");
      };
      const added = reload(`[aggregate]\nroute = "/mcp"\n${withRoute}`);
      assert.deepEqual([added?.["aggregate"], added?.["changed"]], ["added", []]);
      assert.deepEqual(applied.at(-1)?.aggregate?.servers, ["a", "b"]);
      const changed = reload(`[aggregate]\nroute = "/mcp"\ngrace_secs = 0\n${withRoute}`);
      assert.deepEqual([changed?.["aggregate"], changed?.["changed"]], ["changed", []]);
      assert.equal(changed?.["need_restart"], undefined);
      assert.equal(applied.at(-1)?.aggregate?.graceMs, 0);
      const removed = reload(withRoute);
      assert.equal(removed?.["aggregate"], "removed");
      assert.equal(applied.at(-1)?.aggregate, undefined);
      const again = reload(`[server]\nmax_body_bytes = 7\n${withRoute}`);
      assert.deepEqual([again?.["aggregate"], again?.["changed"]], [undefined, ["server.max_body_bytes"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
