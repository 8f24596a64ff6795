import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Breakwater } from "../../src/app/Breakwater.ts";
import { findProgram } from "../../src/app/findProgram.ts";
import { createLogger } from "../../src/app/logger.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { runChild } from "../support/runChild.ts";

const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "breakwater-logs-"));
const breakwater = (...args: string[]) => runChild([cli, ...args]);

function configFile(name: string, toml: string): string {
  const path = join(dir, name);
  writeFileSync(path, toml);
  return path;
}

const upstream = '[[upstreams]]\nname = "u"\nurl = "http://127.0.0.1:3000/mcp"\n';

describe("the log level", () => {
  it("is server.log_level, info by default, and --log-level wins over the file", async () => {
    const plain = configFile("plain.toml", upstream);
    assert.match((await breakwater("check", "--config", plain)).stdout, /^log_level = "info"$/m);
    const quiet = configFile("quiet.toml", `[server]\nlog_level = "warn"\n${upstream}`);
    const fromFile = await breakwater("check", "--config", quiet);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /^log_level = "warn"$/m);
    const fromFlag = await breakwater("check", "--config", quiet, "--log-level", "debug");
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    assert.match(fromFlag.stdout, /^log_level = "debug"$/m);
  });

  it("exits 2 for a level that does not exist, naming the key or the flag", async () => {
    const loud = configFile("loud.toml", `[server]\nlog_level = "loud"\n${upstream}`);
    const badKey = await breakwater("check", "--config", loud);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /server\.log_level/);
    const plain = configFile("plain2.toml", upstream);
    const badFlag = await breakwater("check", "--config", plain, "--log-level", "loud");
    assert.equal(badFlag.code, 2);
    assert.match(
      badFlag.stderr,
      /--log-level "loud": expected one of trace, debug, info, warn, error, fatal, silent/,
    );
  });

  it("is what the proxy logs from, and a reload changes it", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const logger = createLogger(sink);
    const load = (level: string) =>
      loadConfig({ configPath: configFile(`${level}.toml`, `[server]\nlog_level = "${level}"\n${upstream}`) })
        .config;
    const proxy = new Breakwater({ config: load("error"), logger });
    try {
      logger.warn("not logged at error");
      assert.deepEqual(lines, []);
      proxy.reload(load("debug"));
      logger.debug("logged at debug");
      assert.equal(lines.length, 1);
    } finally {
      await proxy.close(0);
    }
  });
});

describe("breakwater check and a stdio upstream's program", () => {
  it("warns, still exit 0, when the program is not found on the PATH the child runs with", async () => {
    const path = configFile(
      "missing.toml",
      [
        '[[upstreams]]\nname = "nowhere"\ncommand = ["breakwater-no-such-mcp-server", "--stdio"]',
        // sh is found on the proxy's PATH, but not on the PATH this upstream's env gives its child
        '[[upstreams]]\nname = "own-path"\ncommand = ["sh", "-c", "true"]\nenv = { PATH = "/nonexistent" }',
        '[[upstreams]]\nname = "found"\ncommand = ["sh", "-c", "true"]',
      ].join("\n"),
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid/);
    assert.match(
      result.stderr,
      /warning: upstream "nowhere": command "breakwater-no-such-mcp-server" is not found on the PATH it runs with/,
    );
    assert.match(
      result.stderr,
      /warning: upstream "own-path": command "sh" is not found .*PATH=\/nonexistent/,
    );
    assert.doesNotMatch(result.stderr, /"found"/);
  });

  it("warns when a command's path is not an executable file", async () => {
    const script = join(dir, "server.sh");
    writeFileSync(script, "#!/bin/sh\n");
    chmodSync(script, 0o644);
    const path = configFile(
      "paths.toml",
      `[[upstreams]]\nname = "plain-file"\ncommand = [${JSON.stringify(script)}]\n` +
        '[[upstreams]]\nname = "relative"\ncommand = ["./no-such-server"]\n',
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /upstream "plain-file": command ".*server\.sh" is not an executable file/);
    assert.match(
      result.stderr,
      /upstream "relative": command "\.\/no-such-server" is not an executable file/,
    );
    chmodSync(script, 0o755);
    assert.equal(findProgram(script, {}), script, "once executable, it is found");
  });

  it("finds a bare name in the child's PATH, relative entries from its working directory", () => {
    const bin = join(dir, "bin");
    const server = join(bin, "my-server");
    mkdirSync(bin, { recursive: true });
    writeFileSync(server, "#!/bin/sh\n");
    chmodSync(server, 0o755);
    assert.equal(findProgram("my-server", { PATH: `/nonexistent:${bin}` }), server);
    assert.equal(findProgram("my-server", { PATH: "bin" }, dir), server);
    assert.equal(findProgram("my-server", { PATH: "/nonexistent" }), undefined);
    assert.equal(findProgram("my-server", {}), undefined, "no PATH: nothing found by name");
  });
});
