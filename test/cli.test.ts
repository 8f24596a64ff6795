import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { Replica } from "./support/replica.ts";
import { runChild } from "./support/runChild.ts";
import { startUpstream } from "./support/upstream.ts";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};
const dir = mkdtempSync(join(tmpdir(), "breakwater-cli-"));
const breakwater = (...args: string[]) => runChild([cli, ...args]);
const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at /, "no stack trace");

function configFile(name: string, toml: string): string {
  const path = join(dir, name);
  writeFileSync(path, toml);
  return path;
}

describe("breakwater (CLI)", () => {
  it("prints its version with --version and usage with --help, exit 0", async () => {
    const version = await breakwater("--version");
    assert.deepEqual([version.code, version.stdout], [0, `${pkg.version}\n`]);
    const help = await breakwater("--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage:/);
    assert.match(help.stdout, /\n {6}--aggregate PATH +one MCP endpoint on PATH over every server/);
  });

  it("exits 2 on an unknown flag or command, with the usage", async () => {
    for (const args of [["--frobnicate"], ["serve", "--upstream", "http://h"]]) {
      const result = await breakwater(...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /^breakwater: unknown (option|command)/);
      assert.match(result.stderr, /Usage:/);
    }
  });

  it("names the flag an unknown one most likely meant, and none when nothing is close", async () => {
    const typo = await breakwater("--lisen", "127.0.0.1:1");
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^breakwater: unknown option --lisen \(did you mean --listen\?\)\n/);
    const far = await breakwater("--frobnicate");
    assert.match(far.stderr, /^breakwater: unknown option --frobnicate\n/);
  });

  it("check prints the effective configuration with every default, the token hidden, exit 0", async () => {
    const path = configFile(
      "ok.toml",
      '[server]\nadmin_token = "hush"\n[[upstreams]]\nname = "primary"\nurl = "http://127.0.0.1:3000/mcp"\n',
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid/);
    assert.match(result.stdout, /failure_threshold = 5/);
    assert.match(result.stdout, /request_timeout_ms = 30000/);
    assert.doesNotMatch(result.stdout, /hush/);
  });

  it("check shows the names of a stdio upstream's env but not their values, and a Redis URL without its password", async () => {
    const path = configFile(
      "secrets.toml",
      '[fleet]\nredis_url = "redis://app:r3dis-s3cret@127.0.0.1:6379"\n' +
        '[[upstreams]]\nname = "gh"\ncommand = ["server"]\nenv = { GITHUB_TOKEN = "ghp_s3cret" }\n',
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /s3cret/);
    assert.match(result.stdout, /GITHUB_TOKEN = "\(hidden\)"/);
    assert.match(result.stdout, /redis_url = "redis:\/\/app:\*\*\*@127\.0\.0\.1:6379"/);
  });

  it("check hides the env values of a server's stdio upstream, and shows no top-level upstreams for [[servers]]", async () => {
    const path = configFile(
      "servers-secrets.toml",
      '[[servers]]\nname = "gh"\nroute = "/gh"\n' +
        '[[servers.upstreams]]\ncommand = ["server"]\nenv = { GITHUB_TOKEN = "ghp_s3cret" }\n',
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /s3cret/);
    assert.match(result.stdout, /\[\[servers\.upstreams\]\]\ncommand = \[ "server" \]\nname = "gh-1"/);
    assert.match(result.stdout, /GITHUB_TOKEN = "\(hidden\)"/);
    assert.doesNotMatch(result.stdout, /^upstreams = /m);
  });

  it("check shows [aggregate] with its servers and defaults, before the servers", async () => {
    const path = configFile(
      "aggregate.toml",
      '[aggregate]\nroute = "/mcp"\ngrace_secs = 5\n' +
        '[[servers]]\nname = "gh"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n' +
        '[[servers]]\nname = "db"\nroute = "/db"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:2/"\n',
    );
    const result = await breakwater("check", "--config", path);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /\n\[aggregate\]\nroute = "\/mcp"\nservers = \[ "gh", "db" \]\nseparator = "__"\ngrace_secs = 5\nlist_timeout_ms = 2000\n\n\[\[servers\]\]\nname = "gh"\n\n/,
    );
    const flag = await breakwater("check", "--server", "a=http://127.0.0.1:1/", "--aggregate", "/mcp");
    assert.equal(flag.code, 0, flag.stderr);
    assert.match(flag.stdout, /\n\[aggregate\]\nroute = "\/mcp"\nservers = \[ "a" \]\n/);
  });

  it("exits 2 for --server with --upstream or --route, naming the flags", async () => {
    for (const [args, message] of [
      [["--upstream", "http://127.0.0.1:1/"], "breakwater: --server and --upstream: use one"],
      [["--route", "/mcp"], "breakwater: --route: not used with --server (each server is on /NAME)"],
    ] as const) {
      const result = await breakwater("check", "--server", "a=http://127.0.0.1:2/", ...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.ok(result.stderr.startsWith(message), result.stderr);
      noStack(result.stderr);
    }
  });

  it("logs each server's URL and upstreams, and the aggregate's URL, when listening, keeping the proxy URL", async () => {
    const path = configFile("quiet.toml", '[server]\nlog_level = "info"\n');
    const servers = new Replica(path, [
      ...["--server", "a=http://127.0.0.1:1/mcp", "--server", "a=http://127.0.0.1:2/mcp"],
      ...["--server", "b=http://127.0.0.1:3/mcp", "--aggregate", "/mcp"],
    ]);
    const old = new Replica(
      configFile(
        "old.toml",
        '[server]\nroute = "/mcp"\n[[upstreams]]\nname = "u"\nurl = "http://127.0.0.1:4/"\n',
      ),
    );
    try {
      await Promise.all([servers.start(), old.start()]);
      const [line] = servers.lines("breakwater listening");
      const root = String(line?.["proxy"]);
      assert.match(root, /^http:\/\/127\.0\.0\.1:\d+$/, "with servers, the proxy is the listener's root");
      assert.deepEqual(line?.["servers"], [
        { name: "a", url: `${root}/a`, upstreams: ["a-1", "a-2"] },
        { name: "b", url: `${root}/b`, upstreams: ["b-1"] },
      ]);
      assert.deepEqual(line?.["aggregate"], { url: `${root}/mcp`, servers: ["a", "b"] });
      const [oldLine] = old.lines("breakwater listening");
      assert.match(String(oldLine?.["proxy"]), /^http:\/\/127\.0\.0\.1:\d+\/mcp$/, "the old form: as before");
      assert.deepEqual(oldLine?.["servers"], [
        { name: "default", url: oldLine?.["proxy"], upstreams: ["u"] },
      ]);
      assert.deepEqual(oldLine?.["upstreams"], [{ name: "u", url: "http://127.0.0.1:4/" }]);
      assert.equal(oldLine?.["aggregate"], undefined, "no aggregate: none named");
    } finally {
      await Promise.all([servers.stop(), old.stop()]);
    }
  });

  it("check exits 2 for a duration beyond 2^31-1 ms and for credentials in an upstream url, naming the key", async () => {
    for (const [toml, message] of [
      [
        '[proxy]\nrequest_timeout_ms = 3000000000\n[[upstreams]]\nurl = "http://h"\n',
        "proxy.request_timeout_ms: at most 2147483647 ms (about 24.8 days), got 3000000000",
      ],
      [
        '[[upstreams]]\nurl = "http://alice:s3cret@h/mcp"\n',
        "upstreams[0].url: credentials in the URL are not sent",
      ],
    ] as const) {
      const path = configFile("refused.toml", toml);
      const result = await breakwater("check", "--config", path);
      assert.equal(result.code, 2, toml);
      assert.ok(result.stderr.includes(`${path}: ${message}`), result.stderr);
      assert.doesNotMatch(result.stderr, /s3cret/);
    }
  });

  it("exits 2 naming the file and the key for a bad config, without a stack trace", async () => {
    const path = configFile(
      "bad.toml",
      '[proxy.circuit_breaker]\nfailure_threshold = -1\n[[upstreams]]\nurl = "http://h"\n',
    );
    for (const args of [
      ["check", "--config", path],
      ["--config", path],
    ]) {
      const result = await breakwater(...args);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        new RegExp(`${path}: proxy\\.circuit_breaker\\.failure_threshold: .*got -1`),
      );
      noStack(result.stderr);
    }
  });

  it("exits 2 for a missing config file, and for no upstreams at all", async () => {
    const missing = await breakwater("--config", join(dir, "nope.toml"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*nope\.toml/);
    const none = await breakwater("--listen", "127.0.0.1:0");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no upstreams/);
  });

  it("exits 1 with a clear message when the port is in use", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await breakwater(
        "--listen",
        `127.0.0.1:${port}`,
        "--admin-listen",
        "127.0.0.1:0",
        "--upstream",
        "http://127.0.0.1:1",
      );
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`),
      );
      noStack(result.stderr);
    } finally {
      taken.close();
    }
  });

  it("on SIGTERM stops accepting, lets the in-flight request finish, logs it and exits 0", async () => {
    let release: (() => void) | undefined;
    const upstream = await startUpstream((_req, res) => {
      release = () => res.writeHead(200, { "content-type": "text/plain" }).end("finished");
    });
    const child = spawn(
      process.execPath,
      [cli, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--upstream", upstream.url],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const lines: Record<string, unknown>[] = [];
      const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
      const logged = (msg: string) =>
        new Promise<Record<string, unknown>>((resolve) => {
          const line = lines.find((l) => l["msg"] === msg);
          if (line) resolve(line);
          else waiters.push({ msg, resolve });
        });
      let buffer = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
          buffer = buffer.slice(nl + 1);
          lines.push(line);
          for (const w of waiters.filter((w) => w.msg === line["msg"])) w.resolve(line);
        }
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const proxyUrl = (await logged("breakwater listening"))["proxy"] as string;
      const inFlight = request(proxyUrl).then(async (res) => [
        res.statusCode,
        res.headers["connection"],
        await res.body.text(),
      ]);
      while (release === undefined) await new Promise((r) => setTimeout(r, 10));
      child.kill("SIGTERM");
      // the signal was handled: the proxy says it is draining, and accepts no new connection
      await logged("shutting down: no new connections, letting in-flight requests finish");
      // refused, or reset when the connection raced the closing listener into its backlog
      await assert.rejects(request(proxyUrl, { reset: true }), (error: NodeJS.ErrnoException) =>
        ["ECONNREFUSED", "ECONNRESET"].includes(error.code ?? ""),
      );
      release();
      assert.deepEqual(await inFlight, [200, "close", "finished"]);
      assert.equal(await exited, 0);
      assert.deepEqual(lines.map((l) => l["msg"]).slice(-2), [
        "shutting down: no new connections, letting in-flight requests finish",
        "stopped",
      ]);
    } finally {
      child.kill("SIGKILL");
      await upstream.close();
    }
  });
});
