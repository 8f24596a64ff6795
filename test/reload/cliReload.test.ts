import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { upstreamsToml } from "../support/proxy.ts";
import { Replica } from "../support/replica.ts";
import { runChild } from "../support/runChild.ts";
import { until } from "../support/until.ts";
import { echo, startUpstream } from "../support/upstream.ts";

describe("reloading the running command (SPEC §6.3)", () => {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-cli-reload-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reloads on SIGHUP and, with --watch, when the file changes; refuses a bad file and serves on", async () => {
    const a = await startUpstream(echo("a"));
    const b = await startUpstream(echo("b"));
    const path = join(dir, "breakwater.toml");
    const one = upstreamsToml([{ name: "a", url: a.url }]);
    const two = upstreamsToml([
      { name: "a", url: a.url },
      { name: "b", url: b.url },
    ]);
    writeFileSync(path, one);
    const replica = await new Replica(path, ["--watch"]).start();
    try {
      const reloads = () => replica.lines("config reloaded");
      writeFileSync(path, two);
      await until(() => reloads().length === 1, "the change is seen");
      assert.equal(reloads()[0]?.["trigger"], "watch");
      assert.deepEqual(reloads()[0]?.["upstreams"], { added: ["b"], removed: [], rebuilt: [], kept: ["a"] });

      replica.signal("SIGHUP");
      await until(() => reloads().length === 2, "SIGHUP reloads");
      assert.equal(reloads()[1]?.["trigger"], "SIGHUP");
      assert.deepEqual(reloads()[1]?.["upstreams"], {
        added: [],
        removed: [],
        rebuilt: [],
        kept: ["a", "b"],
      });

      writeFileSync(path, `[proxy]\nload_balancing = "sideways"\n${two}`);
      await until(() => replica.lines("config reload refused").length === 1, "the bad file is refused");
      assert.match(String(replica.lines("config reload refused")[0]?.["problem"]), /proxy\.load_balancing/);
      const seen = new Set<unknown>();
      for (let i = 0; i < 4; i++) {
        const res = await request(replica.url);
        await res.body.text();
        assert.equal(res.statusCode, 200);
        seen.add(res.headers["x-upstream"]);
      }
      assert.deepEqual(seen, new Set(["a", "b"]), "both upstreams of the running config serve");
    } finally {
      await replica.stop();
      await a.close();
      await b.close();
    }
  });

  it("refuses --watch without a config file to watch, exit 2", async () => {
    const cli = new URL("../../src/cli.ts", import.meta.url).pathname;
    const result = await runChild([cli, "--watch", "--upstream", "http://127.0.0.1:1"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--watch needs --config/);
  });
});
