import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { configFile } from "../support/configFiles.ts";

const file = configFile;

function refuses(toml: string, message: RegExp, env: NodeJS.ProcessEnv = {}) {
  const path = file(toml);
  assert.throws(
    () => loadConfig({ configPath: path }, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.ok(error.message.includes(path), `names the file: ${error.message}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

const one = '[[upstreams]]\nurl = "http://127.0.0.1:3000/mcp"\n';

describe("loading the configuration", () => {
  it("fills in every default of the spec", () => {
    const { config, effective } = loadConfig({ configPath: file(one) });
    assert.deepEqual(
      [
        config.listen,
        config.adminListen,
        config.servers[0]?.route,
        config.maxBodyBytes,
        config.requestTimeoutMs,
        config.loadBalancing,
      ],
      [
        { host: "127.0.0.1", port: 8080 },
        { host: "127.0.0.1", port: 9901 },
        "/",
        4_194_304,
        30_000,
        "round_robin",
      ],
    );
    assert.deepEqual(effective.upstreams[0]?.circuit_breaker, {
      failure_threshold: 5,
      failure_rate_threshold: 0.5,
      window_duration_secs: 60,
      timeout_duration_secs: 30,
      success_threshold: 3,
      minimum_requests: 10,
      half_open_max_requests: 1,
      failure_statuses: ["5xx"],
    });
    assert.equal(
      config.upstreams[0]?.name,
      "http://127.0.0.1:3000/mcp",
      "a missing name defaults to the URL",
    );
  });

  it("takes the seed's keys as written and maps them onto the breaker", () => {
    const { config } = loadConfig({
      configPath: file(
        `[proxy.circuit_breaker]\nfailure_threshold = 4\nfailure_rate_threshold = 0.25\nwindow_duration_secs = 10\n` +
          `timeout_duration_secs = 2\nsuccess_threshold = 1\nminimum_requests = 3\n${one}`,
      ),
    });
    assert.deepEqual(config.upstreams[0]?.breaker, {
      name: "http://127.0.0.1:3000/mcp",
      failureThreshold: 4,
      failureRateThreshold: 0.25,
      windowDuration: 10_000,
      minimumRequests: 3,
      openDuration: 2_000,
      successThreshold: 1,
      halfOpenMaxConcurrent: 1,
      halfOpenProbesOnly: false,
    });
  });

  it("gives tool circuits the upstream's breaker keys, then [proxy.tool_circuit], then the upstream's own", () => {
    const { config } = loadConfig({
      configPath: file(
        `[proxy.circuit_breaker]\nfailure_threshold = 9\nsuccess_threshold = 2\n` +
          `[proxy.tool_circuit]\nfailure_threshold = 4\nmax_tools = 50\n` +
          `[[upstreams]]\nname = "a"\nurl = "http://h:1"\n[upstreams.tool_circuit]\nsuccess_threshold = 1\n` +
          `[[upstreams]]\nname = "b"\nurl = "http://h:2"\n[upstreams.tool_circuit]\nenabled = false\n`,
      ),
    });
    const [a, b] = config.upstreams;
    assert.deepEqual(
      [
        a?.toolCircuit.breaker.failureThreshold,
        a?.toolCircuit.breaker.successThreshold,
        a?.toolCircuit.maxTools,
      ],
      [4, 1, 50],
    );
    assert.deepEqual([a?.toolCircuit.enabled, b?.toolCircuit.enabled], [true, false]);
    assert.equal(b?.toolCircuit.breaker.successThreshold, 2, "b's tools start from the shared keys");
  });

  it("reads health checks per upstream over [proxy.health_check], and makes their circuits probe-only", () => {
    const { config, effective } = loadConfig({
      configPath: file(
        `[proxy.health_check]\nkind = "mcp"\ninterval_secs = 2\n` +
          `[[upstreams]]\nname = "a"\nurl = "http://h:1"\n` +
          `[[upstreams]]\nname = "b"\nurl = "http://h:2"\n[upstreams.health_check]\nkind = "http"\npath = "/healthz"\n` +
          `[[upstreams]]\nname = "c"\nurl = "http://h:3"\n[upstreams.health_check]\nkind = "none"\n`,
      ),
    });
    const [a, b, c] = config.upstreams;
    assert.deepEqual(a?.healthCheck, { kind: "mcp", intervalMs: 2_000, timeoutMs: 5_000, path: "/" });
    assert.deepEqual(
      [b?.healthCheck.kind, b?.healthCheck.path, b?.healthCheck.intervalMs],
      ["http", "/healthz", 2_000],
    );
    assert.deepEqual(
      [a?.breaker.halfOpenProbesOnly, b?.breaker.halfOpenProbesOnly, c?.breaker.halfOpenProbesOnly],
      [true, true, false],
    );
    assert.equal(effective.upstreams[2]?.health_check.kind, "none");
  });

  it("takes a command upstream (SPEC §5) and refuses url and command together, neither, or an empty command", () => {
    const { config } = loadConfig({
      configPath: file(
        `[[upstreams]]\nname = "files"\ncommand = ["npx", "-y", "server"]\ncwd = "/srv"\nenv = { A = "1" }\nmax_processes = 4\n`,
      ),
    });
    assert.deepEqual(config.upstreams[0]?.stdio, {
      command: ["npx", "-y", "server"],
      cwd: "/srv",
      env: { A: "1" },
      maxProcesses: 4,
      idleTimeoutMs: 600_000,
    });
    assert.equal(config.upstreams[0]?.url, undefined);
    for (const [toml, message] of [
      ['[[upstreams]]\nurl = "http://h:1"\ncommand = ["x"]', /upstreams\[0\]: give either url .* not both/],
      ['[[upstreams]]\nname = "x"', /upstreams\[0\]: give either url .* not neither/],
      ["[[upstreams]]\ncommand = []", /upstreams\[0\]\.command/],
      ['[[upstreams]]\nurl = "http://h:1"\ncwd = "/srv"', /upstreams\[0\]\.cwd: only for a command upstream/],
    ] as const) {
      assert.throws(() => loadConfig({ configPath: file(toml) }), message);
    }
  });

  it("refuses a bad health check or answer timeout, naming the key", () => {
    for (const [toml, message] of [
      ['[proxy.health_check]\nkind = "tcp"', /proxy\.health_check\.kind/],
      ["[proxy]\nanswer_timeout_ms = -1", /proxy\.answer_timeout_ms/],
      ["[proxy.tool_circuit]\nmax_tools = 1.5", /proxy\.tool_circuit\.max_tools/],
    ] as const) {
      assert.throws(() => loadConfig({ configPath: file(`${toml}\n${one}`) }), message);
    }
  });

  it("lets an upstream override the shared breaker keys, key by key", () => {
    const { config } = loadConfig({
      configPath: file(
        `[proxy.circuit_breaker]\nfailure_threshold = 9\nsuccess_threshold = 2\n` +
          `[[upstreams]]\nname = "a"\nurl = "http://h:1"\n[upstreams.circuit_breaker]\nfailure_threshold = 3\n` +
          `failure_statuses = [502, "4xx"]\n`,
      ),
    });
    const a = config.upstreams[0];
    assert.deepEqual([a?.breaker.failureThreshold, a?.breaker.successThreshold], [3, 2]);
    assert.deepEqual(
      [a?.isFailureStatus(502), a?.isFailureStatus(503), a?.isFailureStatus(404)],
      [true, false, true],
    );
  });

  it("lets flags win over the file, and --upstream replace the file's upstreams", () => {
    const { config } = loadConfig({
      configPath: file(`[server]\nlisten = "127.0.0.1:1"\n${one}`),
      listen: "127.0.0.1:2",
      route: "/mcp",
      upstreams: ["http://127.0.0.1:4000/a", "http://127.0.0.1:4001/b"],
    });
    assert.deepEqual(config.listen.port, 2);
    assert.equal(config.servers[0]?.route, "/mcp");
    assert.deepEqual(
      config.upstreams.map((u) => u.url?.href),
      ["http://127.0.0.1:4000/a", "http://127.0.0.1:4001/b"],
    );
  });

  it("refuses an unknown key, naming it with its table", () => {
    refuses(
      `[proxy.circuit_breaker]\nfailure_treshold = 3\n${one}`,
      /unknown key proxy\.circuit_breaker\.failure_treshold/,
    );
    refuses(`[sever]\nlisten = "x"\n${one}`, /unknown key sever/);
  });

  it("suggests the known key of the same table that an unknown key most likely meant", () => {
    const suggestion = (toml: string) => {
      try {
        loadConfig({ configPath: file(toml) }, {});
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.message.split("\n").map((line) => line.replace(/^.*?: /, ""));
      }
      assert.fail("refused");
    };
    assert.deepEqual(
      suggestion(
        `[sever]\n[proxy]\nrequest-timeout-ms = 5\n[proxy.circuit_breaker]\nfailure_treshold = 3\n` +
          `[[upstreams]]\nurl = "http://127.0.0.1:3000/mcp"\nmax_proceses = 2\n[upstreams.health_check]\nitnerval_secs = 5\n`,
      ),
      [
        "unknown key proxy.circuit_breaker.failure_treshold (did you mean proxy.circuit_breaker.failure_threshold?)",
        "unknown key proxy.request-timeout-ms (did you mean proxy.request_timeout_ms?)",
        "unknown key upstreams[0].health_check.itnerval_secs (did you mean upstreams[0].health_check.interval_secs?)",
        "unknown key upstreams[0].max_proceses (did you mean upstreams[0].max_processes?)",
        "unknown key sever (did you mean server?)",
      ],
    );
    assert.deepEqual(
      suggestion(`[server]\nport = 8080\nadmin_tokn = "x"\nlisten_address = "x"\n${one}`),
      [
        "unknown key server.port",
        "unknown key server.admin_tokn (did you mean server.admin_token?)",
        "unknown key server.listen_address",
      ],
      "no suggestion for a key that is far from every known one",
    );
  });

  it("refuses wrong types and out-of-range values, naming the key and the value", () => {
    refuses(
      `[proxy.circuit_breaker]\nfailure_threshold = 0\n${one}`,
      /proxy\.circuit_breaker\.failure_threshold: .*>=1, got 0/,
    );
    refuses(
      `[proxy]\nrequest_timeout_ms = "fast"\n${one}`,
      /proxy\.request_timeout_ms: .*expected number, received string/,
    );
    refuses(
      `[proxy]\nload_balancing = "random"\n${one}`,
      /proxy\.load_balancing: .*"round_robin"\|"failover"/,
    );
    refuses(
      `${one}[upstreams.circuit_breaker]\nfailure_rate_threshold = 1.5\n`,
      /upstreams\[0\]\.circuit_breaker\.failure_rate_threshold/,
    );
    refuses(
      `${one}[upstreams.circuit_breaker]\nfailure_statuses = ["9xx"]\n`,
      /failure_statuses\[0\]: expected a status code or a class/,
    );
    refuses(`[server]\nlisten = "8080"\n${one}`, /server\.listen: expected "host:port"/);
    refuses(`[server]\nroute = "mcp"\n${one}`, /server\.route: expected a path starting with "\/"/);
    refuses(
      '[[upstreams]]\nurl = "ftp://x"\n',
      /upstreams\[0\]\.url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/,
    );
  });

  it("refuses a shorter max_timeout_duration_secs than timeout_duration_secs", () => {
    refuses(
      `[proxy.circuit_breaker]\ntimeout_duration_secs = 30\nmax_timeout_duration_secs = 10\n${one}`,
      /max_timeout_duration_secs: 10 is shorter than timeout_duration_secs \(30\)/,
    );
  });

  it("refuses duplicate upstream names and a config without upstreams", () => {
    refuses(
      `${one}${one}`,
      /upstreams\[1\]\.name: "http:\/\/127\.0\.0\.1:3000\/mcp" is already the name of upstreams\[0\]/,
    );
    refuses("[server]\n", /no upstreams/);
  });

  it("refuses TOML that does not parse, with line and column", () => {
    refuses("[server\n", /:1:\d+: invalid TOML/);
  });

  it("refuses an admin listener reachable from other machines without a token, and takes the token from the environment", () => {
    refuses(
      `[server]\nadmin_listen = "0.0.0.0:9901"\n${one}`,
      /server\.admin_listen .*set server\.admin_token/,
    );
    const path = file(`[server]\nadmin_listen = "0.0.0.0:9901"\n${one}`);
    const { config, effective } = loadConfig({ configPath: path }, { BREAKWATER_ADMIN_TOKEN: "t" });
    assert.equal(config.adminToken, "t");
    assert.equal(effective.server.admin_token, "(set from BREAKWATER_ADMIN_TOKEN, hidden)");
  });

  it("reads fleet.redis_url and fleet.name (SPEC §6.2), refuses a bad one naming the key, hides a password", () => {
    const none = loadConfig({ configPath: file(one) });
    assert.equal(none.config.fleet, undefined, "no Redis: each replica's circuits are its own");
    const { config, effective } = loadConfig({
      configPath: file(`[fleet]\nredis_url = "redis://:s3cret@127.0.0.1:6379/2"\n${one}`),
    });
    assert.deepEqual([config.fleet?.redisUrl.port, config.fleet?.name], ["6379", "breakwater"]);
    assert.equal(config.fleet?.redisUrl.password, "s3cret");
    assert.equal(effective.fleet.redis_url, "redis://:***@127.0.0.1:6379/2");
    refuses(
      `[fleet]\nredis_url = "http://127.0.0.1:6379"\n${one}`,
      /fleet\.redis_url: expected a redis:\/\//,
    );
    refuses(
      `[fleet]\nredis_url = "redis://h"\nname = "a b"\n${one}`,
      /fleet\.name: expected 1 to 64 letters/,
    );
  });

  it("hides the values of a stdio upstream's env in the effective configuration, keeping their names", () => {
    const { config, effective } = loadConfig({
      configPath: file(
        '[[upstreams]]\ncommand = ["server"]\nenv = { GITHUB_TOKEN = "ghp_s3cret", LOG_LEVEL = "info" }\n',
      ),
    });
    assert.deepEqual(config.upstreams[0]?.stdio?.env, { GITHUB_TOKEN: "ghp_s3cret", LOG_LEVEL: "info" });
    assert.deepEqual(effective.upstreams[0]?.env, { GITHUB_TOKEN: "(hidden)", LOG_LEVEL: "(hidden)" });
  });

  it("refuses credentials in an upstream url or public_url (they would never be sent), without echoing the password", () => {
    for (const [toml, key] of [
      ['[[upstreams]]\nurl = "http://alice:s3cret@127.0.0.1:3000/mcp"\n', "upstreams[0].url"],
      ['[[upstreams]]\nurl = "https://token-s3cret@mcp.example.com/"\n', "upstreams[0].url"],
      [`[server]\npublic_url = "https://bob:s3cret@mcp.example.com/mcp"\n${one}`, "server.public_url"],
    ] as const) {
      const path = file(toml);
      assert.throws(
        () => loadConfig({ configPath: path }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.ok(
            error.message.startsWith(`${path}: ${key}: credentials in the URL are not sent`),
            error.message,
          );
          assert.doesNotMatch(error.message, /s3cret/);
          return true;
        },
        toml,
      );
    }
    assert.throws(
      () => loadConfig({ upstreams: ["http://alice:s3cret@127.0.0.1:3000/mcp"] }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith('--upstream "http://alice:***@127.0.0.1:3000/mcp": credentials in the URL'),
    );
    assert.throws(
      () => loadConfig({ upstreams: ["ftp://alice:s3cret@h/"] }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes("s3cret"),
    );
  });

  it("hides the token in the effective configuration", () => {
    const { effective } = loadConfig({ configPath: file(`[server]\nadmin_token = "abc"\n${one}`) });
    assert.equal(effective.server.admin_token, "(set, hidden)");
  });

  it("shows an admin token and session keys from the environment as set, hidden, naming the variable", () => {
    const [k1, k2] = [randomBytes(32).toString("hex"), randomBytes(32).toString("base64")];
    const env = { BREAKWATER_ADMIN_TOKEN: "s3cret", BREAKWATER_SESSION_KEYS: `${k1},${k2}` };
    const fromEnv = loadConfig({ configPath: file(one) }, env);
    assert.equal(fromEnv.effective.server.admin_token, "(set from BREAKWATER_ADMIN_TOKEN, hidden)");
    assert.deepEqual(fromEnv.effective.fleet.session_keys, [
      "(set from BREAKWATER_SESSION_KEYS, hidden)",
      "(set from BREAKWATER_SESSION_KEYS, hidden)",
    ]);
    const shown = JSON.stringify(fromEnv.effective);
    for (const secret of ["s3cret", k1, k2]) assert.equal(shown.includes(secret), false, "no secret shown");
    const fromFile = loadConfig(
      { configPath: file(`[server]\nadmin_token = "abc"\n[fleet]\nsession_keys = ["${k1}"]\n${one}`) },
      env,
    );
    assert.equal(fromFile.config.adminToken, "abc", "the file wins");
    assert.equal(fromFile.effective.server.admin_token, "(set, hidden)");
    assert.deepEqual(fromFile.effective.fleet.session_keys, ["(set, hidden)"]);
    const none = loadConfig({ configPath: file(one) }, { BREAKWATER_ADMIN_TOKEN: "" });
    assert.equal(none.effective.server.admin_token, undefined, "an empty variable sets nothing");
    assert.equal(none.effective.fleet.session_keys, undefined);
  });

  it("names the flag for a bad flag value, and the file for one that cannot be read", () => {
    assert.throws(() => loadConfig({ upstreams: ["nope"] }), /--upstream "nope": expected an http/);
    assert.throws(() => loadConfig({ listen: "x", upstreams: ["http://h"] }), /--listen "x"/);
    assert.throws(
      () => loadConfig({ configPath: join(dirname(file("")), "missing.toml") }),
      /cannot read config file .*missing\.toml/,
    );
  });
});
