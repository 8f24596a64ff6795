import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Config } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { ConfigReloader } from "../../src/reload/ConfigReloader.ts";
import { whatRuns } from "../../src/reload/restartOnly.ts";
import { settingChanges } from "../../src/reload/settingChanges.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { makeCertificates } from "../support/certificates.ts";

const dir = mkdtempSync(join(tmpdir(), "breakwater-restart-only-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const upstream = '[[upstreams]]\nurl = "http://127.0.0.1:3000/mcp"\n';

/**
 * A reloader for a config file on disk, driven directly: `apply` only records the config it is given
 * (no listener, no port). `reloadWith` writes the file, reloads as SIGHUP does, and returns that
 * reload's log lines.
 */
function reloaderOf(toml: string) {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, toml);
  const { logger: capturedLogger, lines } = capturedLog();
  const applied: Config[] = [];
  const load = () => loadConfig({ configPath: path }, {});
  const reloader = new ConfigReloader({
    load,
    running: load(),
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
    logger: capturedLogger,
  });
  return {
    applied,
    reloadWith(next: string) {
      writeFileSync(path, next);
      const count = lines.length;
      reloader.reload("SIGHUP");
      const logged = lines.slice(count);
      return {
        reloaded: logged.find((l) => l["msg"] === "config reloaded"),
        warned: logged.find((l) => l["msg"] === "config changes that need a restart were not applied"),
      };
    },
  };
}

describe("a restart-only key a reload did not apply", () => {
  it("stays 'needs restart' in every later reload until the file matches what runs, and reverting it is no warning", () => {
    const config = (port: number, maxBody: number) =>
      `[server]\nlisten = "127.0.0.1:${port}"\nmax_body_bytes = ${maxBody}\n${upstream}`;
    const proxy = reloaderOf(config(18082, 1000));

    const moved = proxy.reloadWith(config(18083, 1000));
    assert.deepEqual(moved.reloaded?.["need_restart"], ["server.listen"]);
    assert.deepEqual(moved.warned?.["keys"], ["server.listen"]);
    assert.deepEqual(moved.reloaded?.["changed"], []);

    const other = proxy.reloadWith(config(18083, 2000));
    assert.deepEqual(other.reloaded?.["changed"], ["server.max_body_bytes"]);
    assert.deepEqual(
      other.reloaded?.["need_restart"],
      ["server.listen"],
      "the file still differs from what runs",
    );
    assert.deepEqual(other.warned?.["keys"], ["server.listen"]);

    const back = proxy.reloadWith(config(18082, 2000));
    assert.deepEqual(back.reloaded?.["changed"], []);
    assert.equal(back.reloaded?.["need_restart"], undefined, "the file matches what runs again");
    assert.equal(back.warned, undefined);

    assert.deepEqual(
      proxy.applied.map((c) => [c.listen.port, c.maxBodyBytes]),
      [
        [18082, 1000],
        [18082, 2000],
        [18082, 2000],
      ],
      "the proxy is given what runs: its listener's address, the new body limit",
    );
  });

  it("keeps the Host rules of listeners that still run on loopback when the file moves them to every interface", () => {
    const config = (host: string, extra = "") =>
      `[server]\nlisten = "${host}:18082"\nadmin_listen = "${host}:19901"\nadmin_token = "t"\n${extra}${upstream}`;
    const proxy = reloaderOf(config("127.0.0.1"));
    const moved = proxy.reloadWith(config("0.0.0.0"));
    assert.deepEqual(moved.reloaded?.["need_restart"], ["server.listen", "server.admin_listen"]);
    assert.deepEqual(
      moved.reloaded?.["changed"],
      [],
      "the hosts that follow the listen addresses did not change",
    );
    const loopback = ["localhost", "127.0.0.1", "[::1]"];
    const hosts = (c: Config | undefined) => [c?.allowedHosts, c?.adminAllowedHosts];
    assert.deepEqual(
      hosts(proxy.applied[0]),
      [loopback, loopback],
      "a loopback listener answers loopback names only",
    );

    const other = proxy.reloadWith(config("0.0.0.0", "max_body_bytes = 5\n"));
    assert.deepEqual(other.reloaded?.["changed"], ["server.max_body_bytes"]);
    assert.deepEqual(other.reloaded?.["need_restart"], ["server.listen", "server.admin_listen"]);
    assert.deepEqual(hosts(proxy.applied[1]), [loopback, loopback]);

    const written = proxy.reloadWith(config("0.0.0.0", 'allowed_hosts = ["mcp.example.com"]\n'));
    assert.deepEqual(written.reloaded?.["changed"], ["server.max_body_bytes", "server.allowed_hosts"]);
    assert.deepEqual(hosts(proxy.applied[2]), [["mcp.example.com"], loopback], "hosts the file names apply");
  });

  it("keeps every restart-only key at its running value, so that nothing is left to restart for", () => {
    const tls = makeCertificates();
    after(tls.remove);
    const before = loadConfig({ configPath: file(upstream) }, {});
    const after_ = loadConfig(
      {
        configPath: file(
          `[server]\nlisten = "127.0.0.1:18090"\nadmin_listen = "127.0.0.1:18091"\nadmin_tls = true\n` +
            `tls_cert_file = "${tls.certFile}"\ntls_key_file = "${tls.keyFile}"\nmax_body_bytes = 7\n` +
            `[fleet]\nredis_url = "redis://127.0.0.1:6390"\nname = "other"\n${upstream}`,
        ),
      },
      {},
    );
    assert.deepEqual(settingChanges(before, after_).needRestart.toSorted(), [
      "fleet.name",
      "fleet.redis_url",
      "server.admin_listen",
      "server.admin_tls",
      "server.listen",
      "server.tls",
    ]);
    const runs = whatRuns(before, after_);
    assert.deepEqual(settingChanges(before, runs), { applied: ["server.max_body_bytes"], needRestart: [] });
    assert.deepEqual(
      settingChanges(runs, after_).needRestart.toSorted(),
      settingChanges(before, after_).needRestart.toSorted(),
      "the next reload names them again",
    );
    assert.equal(runs.config.tls, undefined, "TLS stays off until a restart");
    assert.equal(runs.config.fleet, undefined);
    assert.equal(runs.config.maxBodyBytes, 7);
  });

  it("takes a changed [telemetry] for a restart: named in need_restart, the running telemetry kept until then", () => {
    const telemetry = (lines: string) => `[telemetry]\n${lines}${upstream}`;
    const at = (url: string, ratio = 1) => telemetry(`otlp_endpoint = "${url}"\nsample_ratio = ${ratio}\n`);
    const proxy = reloaderOf(at("http://a:4318"));
    const running = proxy.applied.length;

    const moved = proxy.reloadWith(at("http://b:4318"));
    const keys = ["telemetry.otlp_endpoint", "telemetry.traces_endpoint", "telemetry.metrics_endpoint"];
    assert.deepEqual(moved.reloaded?.["need_restart"], keys);
    assert.deepEqual(moved.warned?.["keys"], keys);
    assert.deepEqual(moved.reloaded?.["changed"], []);
    assert.equal(proxy.applied[running]?.telemetry?.tracesUrl, "http://a:4318/v1/traces", "what runs");

    const sampled = proxy.reloadWith(at("http://a:4318", 0.5));
    assert.deepEqual(sampled.reloaded?.["need_restart"], ["telemetry.sample_ratio"]);
    assert.equal(proxy.applied[running + 1]?.telemetry?.sampleRatio, 1);

    const off = proxy.reloadWith(upstream);
    assert.deepEqual(off.reloaded?.["need_restart"], ["telemetry"], "turned off: left on until a restart");
    assert.notEqual(proxy.applied[running + 2]?.telemetry, undefined);

    const back = proxy.reloadWith(at("http://a:4318"));
    assert.equal(back.reloaded?.["need_restart"], undefined, "the file matches what runs again");
    assert.equal(back.warned, undefined);
  });

  it("leaves telemetry off until a restart when a reload turns it on", () => {
    const proxy = reloaderOf(upstream);
    const on = proxy.reloadWith(`[telemetry]\notlp_endpoint = "http://c:4318"\n${upstream}`);
    assert.deepEqual(on.reloaded?.["need_restart"], ["telemetry"]);
    assert.deepEqual(on.warned?.["keys"], ["telemetry"]);
    assert.equal(proxy.applied.at(-1)?.telemetry, undefined);
  });

  it("sees a new Redis password, which the shown configuration hides, as a change that takes a restart", () => {
    const fleet = (password: string) =>
      loadConfig(
        { configPath: file(`[fleet]\nredis_url = "redis://:${password}@127.0.0.1:6390"\n${upstream}`) },
        {},
      );
    const [before, after_] = [fleet("one"), fleet("two")];
    assert.equal(before.effective.fleet.redis_url, after_.effective.fleet.redis_url, "both shown hidden");
    assert.deepEqual(settingChanges(before, after_), { applied: [], needRestart: ["fleet.redis_url"] });
    assert.equal(whatRuns(before, after_).config.fleet?.redisUrl.password, "one");
  });
});

let files = 0;
function file(toml: string): string {
  const path = join(dir, `c${++files}.toml`);
  writeFileSync(path, toml);
  return path;
}
