import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { configFile } from "../support/configFiles.ts";

const file = configFile;

/** The config error `toml` makes, each line without the file's name (which it must start with). */
function problem(toml: string): string {
  const path = file(toml);
  try {
    loadConfig({ configPath: path }, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    const lines = error.message.split("\n");
    for (const line of lines) assert.ok(line.startsWith(`${path}: `), `names the file: ${line}`);
    return lines.map((line) => line.slice(path.length + 2)).join("\n");
  }
  assert.fail(`refused:\n${toml}`);
}

/** A `[[servers]]` table with one upstream per url. */
function server(name: string, route: string | undefined, ...urls: string[]): string {
  return head(name, route) + urls.map((url) => `[[servers.upstreams]]\nurl = "${url}"\n`).join("");
}

/** A `[[servers]]` table's own keys, `lines` among them. */
function head(name: string, route: string | undefined, lines = ""): string {
  return `[[servers]]\nname = "${name}"\n${route === undefined ? "" : `route = "${route}"\n`}${lines}`;
}

const up = '[[servers.upstreams]]\nurl = "http://h:1/"\n';

const github = `[[servers]]
name = "github"
route = "/github/mcp"
tools = { include = ["get_*", "list_*", "create_issue"], exclude = ["list_secrets"] }

[[servers.upstreams]]
name = "github-a"
url = "http://10.0.0.5:3000/mcp"

[[servers.upstreams]]
name = "github-b"
url = "http://10.0.0.6:3000/mcp"

[[servers]]
name = "files"
route = "/files"

[[servers.upstreams]]
command = ["mcp-files", "--root", "/srv"]
`;

describe("[[servers]] (many MCP servers behind one proxy)", () => {
  it("reads [[servers]] with routes, filters and overrides into one ServerConfig each", () => {
    const { config } = loadConfig({ configPath: file(github) }, {});
    assert.deepEqual(
      config.servers.map((s) => [s.name, s.route, s.upstreams.map((u) => u.name)]),
      [
        ["github", "/github/mcp", ["github-a", "github-b"]],
        ["files", "/files", ["files-1"]],
      ],
    );
    const [gh, files] = config.servers;
    assert.deepEqual(
      ["get_me", "list_issues", "create_issue", "list_secrets", "delete_repo", "create_issues"].map((tool) =>
        gh?.allowsTool?.(tool),
      ),
      [true, true, true, false, false, false],
    );
    assert.equal(files?.allowsTool, undefined, "no tools key: no filter at all");
    assert.deepEqual(files?.upstreams[0]?.stdio?.command, ["mcp-files", "--root", "/srv"]);
    assert.deepEqual(
      config.upstreams.map((u) => u.name),
      ["github-a", "github-b", "files-1"],
      "Config.upstreams: every server's, in file order",
    );
    assert.deepEqual(
      config.upstreams.map((u) => u.url?.href),
      ["http://10.0.0.5:3000/mcp", "http://10.0.0.6:3000/mcp", undefined],
    );
  });

  it("names an unnamed upstream <server>-<n>, 1-based in file order", () => {
    const { config } = loadConfig(
      {
        configPath: file(
          `${server("a", "/a", "http://h:1/", "http://h:2/")}[[servers.upstreams]]\nname = "kept"\nurl = "http://h:3/"\n` +
            `[[servers.upstreams]]\nurl = "http://h:4/"\n${server("b", "/b", "http://h:5/")}`,
        ),
      },
      {},
    );
    assert.deepEqual(
      config.servers.map((s) => s.upstreams.map((u) => u.name)),
      [["a-1", "a-2", "kept", "a-4"], ["b-1"]],
    );
  });

  it("reads the old form into one server named default on server.route, unchanged", () => {
    const toml =
      '[server]\nroute = "/mcp"\n[[upstreams]]\nurl = "http://h:1/mcp"\n[[upstreams]]\nname = "b"\nurl = "http://h:2/mcp"\n';
    const { config, effective } = loadConfig({ configPath: file(toml) }, {});
    assert.equal(config.servers.length, 1);
    const [only] = config.servers;
    assert.deepEqual([only?.name, only?.route, only?.allowsTool], ["default", "/mcp", undefined]);
    assert.deepEqual(
      only?.upstreams.map((u) => u.name),
      ["http://h:1/mcp", "b"],
      "names as before: the URL when none",
    );
    assert.deepEqual(config.upstreams, only?.upstreams);
    assert.equal(effective.servers, undefined, "check prints the old form as before");
    assert.equal(effective.server.route, "/mcp");
    const bare = loadConfig({ configPath: file('[[upstreams]]\nurl = "http://h:1/mcp"\n') }, {});
    assert.equal(bare.config.servers[0]?.route, "/", "server.route defaults to /");
    assert.equal(bare.effective.server.route, "/", "and check shows it");
  });

  it("refuses top-level [[upstreams]] with [[servers]], naming both", () => {
    assert.match(
      problem(`[[upstreams]]\nurl = "http://h:1/"\n${server("a", "/a", "http://h:2/")}`),
      /^upstreams and servers: use one form, top-level \[\[upstreams\]\] .* or \[\[servers\]\]/,
    );
  });

  it("refuses server.route with [[servers]]", () => {
    assert.match(
      problem(`[server]\nroute = "/mcp"\n${server("a", "/a", "http://h:2/")}`),
      /^server\.route: not used with \[\[servers\]\]; give each server its route \(servers\[i\]\.route\)$/,
    );
  });

  it("refuses overlapping routes (/a and /a/b, /a and /a/, / and any other), naming both keys", () => {
    for (const [first, second] of [
      ["/a", "/a/b"],
      ["/a/b", "/a"],
      ["/a", "/a/"],
      ["/a/", "/a"],
      ["/a", "/a"],
    ] as const) {
      assert.equal(
        problem(
          `${server("one", "/other", "http://h:0/")}${server("a", first, "http://h:1/")}${server("b", second, "http://h:2/")}`,
        ),
        `servers[2].route "${second}" overlaps servers[1].route "${first}": a request could reach either server; ` +
          "give them routes apart (e.g. /a/mcp and /b/mcp)",
        `${first} and ${second}`,
      );
    }
    assert.equal(
      problem(`${server("a", "/a", "http://h:1/")}${server("b", "/", "http://h:2/")}`),
      'servers[1].route "/" overlaps servers[0].route "/a": a request could reach either server; ' +
        "give them routes apart (e.g. /a/mcp and /b/mcp)",
    );
    const apart = loadConfig(
      {
        configPath: file(
          `${server("a", "/a", "http://h:1/")}${server("ab", "/ab", "http://h:2/")}${server("c", "/c/", "http://h:3/")}`,
        ),
      },
      {},
    );
    assert.deepEqual(
      apart.config.servers.map((s) => s.route),
      ["/a", "/ab", "/c/"],
      "/a and /ab are apart (a route matches at a segment boundary)",
    );
  });

  it("refuses a duplicate server name, and an upstream name used in two servers", () => {
    assert.equal(
      problem(
        `${server("files", "/f", "http://h:1/")}${server("git", "/g", "http://h:2/")}${server("files", "/f2", "http://h:3/")}`,
      ),
      'servers[2].name: "files" is already the name of servers[0]',
    );
    assert.equal(
      problem(
        `${server("a", "/a", "http://h:1/")}[[servers.upstreams]]\nname = "x"\nurl = "http://h:2/"\n` +
          `${server("b", "/b")}[[servers.upstreams]]\nname = "x"\nurl = "http://h:3/"\n`,
      ),
      'servers[1].upstreams[0].name: "x" is already the name of servers[0].upstreams[1]',
    );
    assert.equal(
      problem(
        `${server("a", "/a", "http://h:1/")}${server("b", "/b")}[[servers.upstreams]]\nname = "a-1"\nurl = "http://h:3/"\n`,
      ),
      'servers[1].upstreams[0].name: "a-1" is already the name of servers[0].upstreams[0]',
      "a default name is taken like a written one",
    );
  });

  it("names an unknown key of a server (or of its upstream) and suggests the close one", () => {
    assert.deepEqual(
      problem(
        `${server("a", "/a", "http://h:1/")}max_inflight = 3\n[servers.upstreams.circuit_breaker]\nfailure_treshold = 2\n`,
      ).split("\n"),
      [
        "unknown key servers[0].upstreams[0].circuit_breaker.failure_treshold (did you mean servers[0].upstreams[0].circuit_breaker.failure_threshold?)",
        "unknown key servers[0].upstreams[0].max_inflight (did you mean servers[0].upstreams[0].max_in_flight?)",
      ],
    );
    assert.deepEqual(
      problem(
        '[[servers]]\nname = "a"\nrout = "/a"\ntool = { exclude = ["x"] }\nload_balancing = "failover"\n' +
          '[[servers.upstreams]]\nurl = "http://h:1/"\n',
      ).split("\n"),
      [
        "unknown key servers[0].rout (did you mean servers[0].route?)",
        "unknown key servers[0].tool (did you mean servers[0].tools?)",
        "unknown key servers[0].load_balancing",
      ],
    );
  });

  it("refuses a bad server name, a server without upstreams, and a server without a route or an aggregate", () => {
    assert.match(
      problem(server("GitHub", "/g", "http://h:1/")),
      /^servers\[0\]\.name: expected 1 to 32 of a-z/,
    );
    assert.match(
      problem(server("a".repeat(33), "/g", "http://h:1/")),
      /^servers\[0\]\.name: expected 1 to 32/,
    );
    assert.equal(
      problem(`${server("a", "/a", "http://h:1/")}${server("b", "/b")}`),
      "servers[1].upstreams: none: add a [[servers.upstreams]] table with a url (or a command)",
    );
    assert.equal(
      problem(server("files", undefined, "http://h:1/")),
      'servers[0].route: needed unless the server is in [aggregate] (e.g. route = "/files/mcp", or add an [aggregate] table)',
    );
    assert.match(
      problem(server("a", "a", "http://h:1/")),
      /^servers\[0\]\.route: expected a path starting with "\/"/,
    );
  });

  it("refuses a tools filter with proxy.read_jsonrpc off, and a glob with other characters", () => {
    assert.equal(
      problem(`[proxy]\nread_jsonrpc = false\n${head("a", "/a", 'tools = { exclude = ["x"] }\n')}${up}`),
      "servers[0].tools: needs proxy.read_jsonrpc = true (the filter reads the JSON-RPC calls and tool lists)",
    );
    for (const glob of ["delete *", "[a-z]*", "a/b", "é", ""]) {
      assert.match(
        problem(`${head("a", "/a", `tools = { include = ["ok_*", ${JSON.stringify(glob)}] }\n`)}${up}`),
        /^servers\[0\]\.tools\.include\[1\]: expected 1 to 128 of A-Z, a-z, 0-9, '_', '\.', '-', '\*', '\?'/,
        JSON.stringify(glob),
      );
    }
    assert.match(
      problem(`${head("a", "/a", "tools = { include = [] }\n")}${up}`),
      /^servers\[0\]\.tools\.include: /,
      "an empty include would allow nothing: refused",
    );
  });

  it("merges breaker, tool circuit, health check and max_in_flight: upstream over server over proxy over defaults", () => {
    const { config, effective } = loadConfig(
      {
        configPath: file(`[proxy]
max_in_flight = 9
[proxy.circuit_breaker]
failure_threshold = 7
success_threshold = 4
[proxy.tool_circuit]
max_tools = 50
[proxy.health_check]
kind = "http"
path = "/health"

[[servers]]
name = "a"
route = "/a"
max_in_flight = 5
[servers.circuit_breaker]
failure_threshold = 3
[servers.tool_circuit]
failure_threshold = 2
[servers.health_check]
interval_secs = 2

[[servers.upstreams]]
url = "http://h:1/"
max_in_flight = 1
[servers.upstreams.circuit_breaker]
minimum_requests = 20
[servers.upstreams.tool_circuit]
max_tools = 7
[servers.upstreams.health_check]
timeout_ms = 300

[[servers.upstreams]]
url = "http://h:2/"

[[servers]]
name = "b"
route = "/b"
[[servers.upstreams]]
url = "http://h:3/"
`),
      },
      {},
    );
    const [a1, a2, b1] = config.upstreams;
    const view = (u: typeof a1) => ({
      failureThreshold: u?.breaker.failureThreshold,
      successThreshold: u?.breaker.successThreshold,
      minimumRequests: u?.breaker.minimumRequests,
      failureRateThreshold: u?.breaker.failureRateThreshold,
      toolFailureThreshold: u?.toolCircuit.breaker.failureThreshold,
      toolMinimumRequests: u?.toolCircuit.breaker.minimumRequests,
      maxTools: u?.toolCircuit.maxTools,
      health: [u?.healthCheck.kind, u?.healthCheck.path, u?.healthCheck.intervalMs, u?.healthCheck.timeoutMs],
      maxInFlight: u?.maxInFlight,
    });
    assert.deepEqual(view(a1), {
      failureThreshold: 3, // the server's, over the proxy's 7
      successThreshold: 4, // the proxy's
      minimumRequests: 20, // the upstream's own
      failureRateThreshold: 0.5, // the default
      toolFailureThreshold: 2, // the server's tool section, over its upstream's breaker
      toolMinimumRequests: 20, // the tool circuit starts from its upstream's breaker
      maxTools: 7, // the upstream's tool section, over the proxy's 50
      health: ["http", "/health", 2_000, 300], // proxy, server, server, upstream
      maxInFlight: 1, // the upstream's
    });
    assert.deepEqual(view(a2), {
      failureThreshold: 3,
      successThreshold: 4,
      minimumRequests: 10,
      failureRateThreshold: 0.5,
      toolFailureThreshold: 2,
      toolMinimumRequests: 10,
      maxTools: 50,
      health: ["http", "/health", 2_000, 5_000],
      maxInFlight: 5, // the server's
    });
    assert.deepEqual(view(b1), {
      failureThreshold: 7,
      successThreshold: 4,
      minimumRequests: 10,
      failureRateThreshold: 0.5,
      toolFailureThreshold: 7,
      toolMinimumRequests: 10,
      maxTools: 50,
      health: ["http", "/health", 10_000, 5_000],
      maxInFlight: 9, // the proxy's
    });
    assert.equal(effective.servers?.[0]?.circuit_breaker.failure_threshold, 3, "check shows the merge");
    assert.equal(effective.servers?.[1]?.circuit_breaker.failure_threshold, 7);
    assert.match(
      problem(
        `${server("a", "/a", "http://h:1/")}[servers.circuit_breaker]\ntimeout_duration_secs = 30\nmax_timeout_duration_secs = 10\n`,
      ),
      /^servers\[0\]\.circuit_breaker\.max_timeout_duration_secs: 10 is shorter than timeout_duration_secs \(30\)$/,
    );
  });

  it("hides the env of a server's stdio upstream in the effective configuration, keeping the names", () => {
    const { config, effective } = loadConfig(
      {
        configPath: file(
          '[[servers]]\nname = "gh"\nroute = "/gh"\n[[servers.upstreams]]\ncommand = ["server"]\n' +
            'env = { GITHUB_TOKEN = "ghp_s3cret" }\n',
        ),
      },
      {},
    );
    assert.deepEqual(config.servers[0]?.upstreams[0]?.stdio?.env, { GITHUB_TOKEN: "ghp_s3cret" });
    assert.deepEqual(effective.servers?.[0]?.upstreams[0]?.env, { GITHUB_TOKEN: "(hidden)" });
    assert.equal(JSON.stringify(effective).includes("s3cret"), false);
  });
});

describe("server.public_url with many servers", () => {
  it("is the proxy's root in the servers form, each server's public URL its route under it; the old form's is the server's own", () => {
    const root = '[server]\npublic_url = "https://gw.example.com/base/"\n';
    const { config } = loadConfig(
      {
        configPath: file(
          `${root}${server("notes", "/notes/mcp", "http://h:1/")}${server("clock", "/clock", "http://h:2/")}`,
        ),
      },
      {},
    );
    assert.deepEqual(
      config.servers.map((s) => s.publicUrl?.href),
      ["https://gw.example.com/base/notes/mcp", "https://gw.example.com/base/clock"],
    );
    const old = loadConfig(
      {
        configPath: file(
          '[server]\nroute = "/mcp"\npublic_url = "https://mcp.example.com/mcp"\n[[upstreams]]\nurl = "http://h:1/"\n',
        ),
      },
      {},
    ).config;
    assert.equal(old.servers[0]?.publicUrl?.href, "https://mcp.example.com/mcp");
  });
});
