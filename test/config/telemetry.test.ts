import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { configFile } from "../support/configFiles.ts";

const upstream = '[[upstreams]]\nurl = "http://127.0.0.1:3000/mcp"\n';

/** `toml` (with one upstream) loaded with `env` as the whole environment. */
function load(toml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ configPath: configFile(`${toml}\n${upstream}`) }, env);
}

/** The config error `toml` and `env` make, its first line without the file's name. */
function problem(toml: string, env: NodeJS.ProcessEnv = {}): string {
  const path = configFile(`${toml}\n${upstream}`);
  try {
    loadConfig({ configPath: path }, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    const first = error.message.split("\n")[0] ?? "";
    return first.startsWith(`${path}: `) ? first.slice(path.length + 2) : first;
  }
  assert.fail(`not refused:\n${toml}\n${JSON.stringify(env)}`);
}

const endpoint = (url: string) => `[telemetry]\notlp_endpoint = "${url}"\n`;

describe("[telemetry] in the file (SPEC §9)", () => {
  it("is off, and shown nowhere, when neither the file nor the environment names an endpoint", () => {
    const { config, effective } = load("", { OTEL_SERVICE_NAME: "gw", OTEL_TRACES_SAMPLER: "always_off" });
    assert.equal(config.telemetry, undefined);
    assert.equal(effective.telemetry, undefined);
  });

  it("reads every key; the signals' URLs are the base with /v1/traces and /v1/metrics, as check shows", () => {
    const { config, effective } = load(
      '[telemetry]\notlp_endpoint = "https://otel.example.com/collector/"\nservice_name = "gateway-eu"\nsample_ratio = 0.25\n',
    );
    assert.deepEqual(config.telemetry, {
      otlpEndpoint: "https://otel.example.com/collector/",
      tracesUrl: "https://otel.example.com/collector/v1/traces",
      metricsUrl: "https://otel.example.com/collector/v1/metrics",
      serviceName: "gateway-eu",
      sampleRatio: 0.25,
    });
    assert.deepEqual(effective.telemetry, {
      otlp_endpoint: "https://otel.example.com/collector/",
      service_name: "gateway-eu",
      sample_ratio: 0.25,
      traces_endpoint: "https://otel.example.com/collector/v1/traces",
      metrics_endpoint: "https://otel.example.com/collector/v1/metrics",
    });
  });

  it('defaults service_name to "breakwater" and sample_ratio to 1, and takes 0 and 1 written as integers', () => {
    const { config } = load(endpoint("http://127.0.0.1:4318"));
    assert.deepEqual(
      [config.telemetry?.tracesUrl, config.telemetry?.serviceName, config.telemetry?.sampleRatio],
      ["http://127.0.0.1:4318/v1/traces", "breakwater", 1],
    );
    assert.equal(load(`${endpoint("http://c:4318")}sample_ratio = 0\n`).config.telemetry?.sampleRatio, 0);
    assert.equal(load(`${endpoint("http://c:4318")}sample_ratio = 1\n`).config.telemetry?.sampleRatio, 1);
  });

  it("refuses a bad value, naming the key and what is wrong", () => {
    for (const [toml, message] of [
      [endpoint("collector:4318"), "telemetry.otlp_endpoint: expected an http:// or https:// URL"],
      [endpoint("grpc://c:4317"), "telemetry.otlp_endpoint: expected an http:// or https:// URL"],
      [
        endpoint("http://c:4318/v1/traces"),
        'telemetry.otlp_endpoint: this is a base URL, to which /v1/traces and /v1/metrics are appended: write "http://c:4318"',
      ],
      [
        endpoint("https://c.example/otlp/v1/metrics/"),
        'telemetry.otlp_endpoint: this is a base URL, to which /v1/traces and /v1/metrics are appended: write "https://c.example/otlp"',
      ],
      [endpoint("http://c:4318/?tenant=a"), "telemetry.otlp_endpoint: expected no query or fragment"],
      ['[telemetry]\nservice_name = ""\n', "telemetry.service_name: expected a name"],
      ['[telemetry]\nservice_name = "  "\n', "telemetry.service_name: expected a name"],
      ["[telemetry]\nsample_ratio = 1.5\n", "telemetry.sample_ratio: expected a ratio from 0 to 1"],
      ["[telemetry]\nsample_ratio = -0.1\n", "telemetry.sample_ratio: expected a ratio from 0 to 1"],
      ['[telemetry]\nsample_ratio = "0.5"\n', "telemetry.sample_ratio: Invalid input: expected number"],
      ["[telemetry]\nsample_ratio = nan\n", "telemetry.sample_ratio: Invalid input: expected number"],
    ] as const) {
      const said = problem(toml);
      assert.ok(said.startsWith(message), `${toml}\n${said}`);
    }
  });

  it("refuses credentials in the endpoint, pointing at OTEL_EXPORTER_OTLP_HEADERS, without showing the password", () => {
    const said = problem(endpoint("https://tenant:s3cret@otlp.example.com"));
    assert.match(said, /^telemetry\.otlp_endpoint: credentials in the URL: .*OTEL_EXPORTER_OTLP_HEADERS/);
    assert.match(said, /got "https:\/\/tenant:\*\*\*@otlp\.example\.com\/"/);
    assert.doesNotMatch(said, /s3cret/);
  });

  it("names the key an unknown one under [telemetry] most likely meant", () => {
    assert.equal(
      problem('[telemetry]\notlp_endpiont = "http://c:4318"\n'),
      "unknown key telemetry.otlp_endpiont (did you mean telemetry.otlp_endpoint?)",
    );
    assert.equal(problem("[telemetry]\nexporter = 1\n"), "unknown key telemetry.exporter");
  });

  it("with the table but no endpoint anywhere, is off and check says why", () => {
    const { config, effective } = load('[telemetry]\nservice_name = "gw"\n');
    assert.equal(config.telemetry, undefined);
    assert.deepEqual(effective.telemetry, {
      disabled: "no endpoint: set telemetry.otlp_endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) to export",
    });
  });
});

describe("[telemetry] and the OTEL_* variables", () => {
  it("takes the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, and a signal's own endpoint over it, as it is", () => {
    const general = load("", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).config.telemetry;
    assert.deepEqual(
      [general?.otlpEndpoint, general?.tracesUrl, general?.metricsUrl],
      ["http://collector:4318", "http://collector:4318/v1/traces", "http://collector:4318/v1/metrics"],
    );
    const both = load("", {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/api/spans",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://metrics.example.com",
    }).config.telemetry;
    assert.deepEqual(
      [both?.tracesUrl, both?.metricsUrl],
      ["https://traces.example.com/api/spans", "https://metrics.example.com/"],
    );
  });

  it("with only OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, is on and exports no metrics over OTLP", () => {
    const { config, effective } = load("", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" });
    assert.deepEqual(config.telemetry, {
      otlpEndpoint: "http://c:4318/v1/traces",
      tracesUrl: "http://c:4318/v1/traces",
      metricsUrl: undefined,
      serviceName: "breakwater",
      sampleRatio: 1,
    });
    assert.deepEqual(effective.telemetry, {
      service_name: "breakwater",
      sample_ratio: 1,
      traces_endpoint: "http://c:4318/v1/traces",
    });
  });

  it("refuses OTEL_EXPORTER_OTLP_METRICS_ENDPOINT alone: metrics are exported beside traces", () => {
    assert.match(
      problem("", { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/v1/metrics" }),
      /^OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: set without OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/,
    );
  });

  it("lets each key of the file win over its variable, and leaves the endpoint variables unread when the file has one", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "not a url",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other:4318/v1/traces",
      OTEL_SERVICE_NAME: "from-env",
      OTEL_TRACES_SAMPLER: "jaeger_remote",
    };
    const telemetry = load(
      `${endpoint("http://file:4318")}service_name = "from-file"\nsample_ratio = 0.5\n`,
      env,
    ).config.telemetry;
    assert.deepEqual(telemetry, {
      otlpEndpoint: "http://file:4318",
      tracesUrl: "http://file:4318/v1/traces",
      metricsUrl: "http://file:4318/v1/metrics",
      serviceName: "from-file",
      sampleRatio: 0.5,
    });
  });

  it("takes service.name from OTEL_SERVICE_NAME, an empty variable as unset", () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    assert.equal(load("", { ...base, OTEL_SERVICE_NAME: "gw-eu" }).config.telemetry?.serviceName, "gw-eu");
    assert.equal(load("", { ...base, OTEL_SERVICE_NAME: " " }).config.telemetry?.serviceName, "breakwater");
    assert.equal(
      load("", { ...base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" }).config.telemetry?.tracesUrl,
      "http://c:4318/v1/traces",
    );
  });

  it("takes the ratio OTEL_TRACES_SAMPLER asks for, each sampler as its parent-based form", () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    for (const [sampler, arg, ratio] of [
      [undefined, "0.1", 1],
      ["parentbased_traceidratio", "0.1", 0.1],
      ["TraceIdRatio", "2.5e-1", 0.25],
      ["traceidratio", ".5", 0.5],
      ["parentbased_traceidratio", undefined, 1],
      ["always_on", "0.1", 1],
      ["parentbased_always_on", undefined, 1],
      ["always_off", undefined, 0],
      ["parentbased_always_off", undefined, 0],
    ] as const) {
      const env = {
        ...base,
        ...(sampler === undefined ? {} : { OTEL_TRACES_SAMPLER: sampler }),
        ...(arg === undefined ? {} : { OTEL_TRACES_SAMPLER_ARG: arg }),
      };
      assert.equal(load("", env).config.telemetry?.sampleRatio, ratio, JSON.stringify(env));
    }
  });

  it("refuses a bad value in a variable, naming the variable", () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    const ratio = (arg: string) => ({
      ...base,
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: arg,
    });
    for (const [env, message] of [
      [
        ratio("abc"),
        'OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1 (of the traces started here), got "abc"',
      ],
      [
        ratio("1.5"),
        'OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1 (of the traces started here), got "1.5"',
      ],
      [
        ratio("0x1"),
        'OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1 (of the traces started here), got "0x1"',
      ],
      [
        { ...base, OTEL_TRACES_SAMPLER: "xray" },
        'OTEL_TRACES_SAMPLER: "xray" is not a sampler Breakwater offers',
      ],
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" },
        "OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL (OTLP over HTTP, port 4318 by default), " +
          'got "collector:4318"',
      ],
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/v1/traces" },
        'OTEL_EXPORTER_OTLP_ENDPOINT: this is a base URL, to which /v1/traces and /v1/metrics are appended: write "http://c:4318"',
      ],
      [
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://c/v1/traces" },
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http://",
      ],
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: "https://k:s3cret@c.example" },
        "OTEL_EXPORTER_OTLP_ENDPOINT: credentials in the URL",
      ],
      [{ ...base, OTEL_SDK_DISABLED: "1" }, 'OTEL_SDK_DISABLED: expected true or false, got "1"'],
    ] as const) {
      const said = problem("", env);
      assert.ok(said.startsWith(message), `${JSON.stringify(env)}\n${said}`);
      assert.doesNotMatch(said, /s3cret/);
    }
  });

  it("is off with OTEL_SDK_DISABLED=true whatever the file says, and check says why; false leaves it on", () => {
    for (const value of ["true", "TRUE", " True "]) {
      const { config, effective } = load(endpoint("http://c:4318"), {
        OTEL_SDK_DISABLED: value,
        OTEL_TRACES_SAMPLER: "xray",
      });
      assert.equal(config.telemetry, undefined, value);
      assert.deepEqual(effective.telemetry, {
        disabled: "OTEL_SDK_DISABLED=true: nothing is traced or exported",
      });
    }
    assert.equal(
      load("", { OTEL_SDK_DISABLED: "true" }).effective.telemetry,
      undefined,
      "nothing asked for it",
    );
    for (const value of ["false", "False", ""]) {
      assert.notEqual(
        load(endpoint("http://c:4318"), { OTEL_SDK_DISABLED: value }).config.telemetry,
        undefined,
        value,
      );
    }
  });
});

describe("breakwater check with [telemetry] (CLI)", () => {
  const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
  /** `breakwater check --config` of `toml` with `env` as the only OTEL_* variables. */
  async function check(toml: string, env: Record<string, string> = {}) {
    const own = Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_"));
    const child = spawn(process.execPath, [cli, "check", "--config", configFile(`${toml}\n${upstream}`)], {
      env: { ...Object.fromEntries(own), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let [stdout, stderr] = ["", ""];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { code, stdout, stderr };
  }

  it("prints the effective [telemetry], its endpoint from the environment, exit 0", async () => {
    const result = await check("[telemetry]\nsample_ratio = 0.5\n", {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /\n\[telemetry\]\notlp_endpoint = "http:\/\/c:4318"\nservice_name = "breakwater"\nsample_ratio = 0\.5\n/,
    );
  });

  it("exits 2 for a bad key and for a bad variable, naming them, without a stack trace", async () => {
    const key = await check("[telemetry]\nsample_ratio = 2\n");
    assert.equal(key.code, 2);
    assert.match(
      key.stderr,
      /^breakwater: .*: telemetry\.sample_ratio: expected a ratio from 0 to 1 .*got 2\n$/,
    );
    const variable = await check("", {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_TRACES_SAMPLER: "traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "abc",
    });
    assert.equal(variable.code, 2);
    assert.equal(
      variable.stderr,
      'breakwater: OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1 (of the traces started here), got "abc"\n',
    );
  });
});
