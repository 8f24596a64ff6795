import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { type ConfigFlags, loadConfig } from "../../src/config/loadConfig.ts";
import { configFile, loadToml } from "../support/configFiles.ts";

/** The config error `toml` makes, each line without the file's name (which it must start with). */
function problem(toml: string): string {
  const path = configFile(toml);
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

/** A `[[servers]]` table with one upstream; no route when `route` is undefined. */
function server(name: string, route?: string): string {
  return (
    `[[servers]]\nname = "${name}"\n${route === undefined ? "" : `route = "${route}"\n`}` +
    `[[servers.upstreams]]\nurl = "http://127.0.0.1:1/${name}"\n`
  );
}

/** An `[aggregate]` table of the given lines. */
const aggregate = (lines = 'route = "/mcp"\n') => `[aggregate]\n${lines}`;

describe("[aggregate] (one MCP endpoint over the servers)", () => {
  it("reads every key, the servers in [[servers]] file order whatever order the table names them in, shown as check shows it", () => {
    const { config, effective } = loadToml(
      aggregate(
        'route = "/mcp"\nservers = ["files", "github"]\nseparator = "."\ngrace_secs = 5\nlist_timeout_ms = 250\n',
      ) +
        server("github", "/github/mcp") +
        server("db", "/db") +
        server("files"),
    );
    assert.deepEqual(config.aggregate, {
      route: "/mcp",
      servers: ["github", "files"],
      separator: ".",
      graceMs: 5000,
      listTimeoutMs: 250,
    });
    // the effective configuration loadConfig gives is the redacted one `check` prints: the aggregate holds no secret
    assert.deepEqual(effective.aggregate, {
      route: "/mcp",
      servers: ["github", "files"],
      separator: ".",
      grace_secs: 5,
      list_timeout_ms: 250,
    });
  });

  it("defaults to every server, separator __, 60 s of grace and lists waiting 2 s", () => {
    const { config } = loadToml(aggregate() + server("a", "/a") + server("b"));
    assert.deepEqual(config.aggregate, {
      route: "/mcp",
      servers: ["a", "b"],
      separator: "__",
      graceMs: 60_000,
      listTimeoutMs: 2000,
    });
  });

  it("is absent without an [aggregate] table", () => {
    const { config, effective } = loadToml(server("a", "/a"));
    assert.equal(config.aggregate, undefined);
    assert.equal("aggregate" in effective, false, "nothing for check to print");
  });

  it("lets a server in the aggregate go without a route, and refuses a server with neither", () => {
    const { config } = loadToml(
      aggregate('route = "/mcp"\nservers = ["a"]\n') + server("a") + server("b", "/b"),
    );
    assert.deepEqual(
      config.servers.map((s) => [s.name, s.route, s.publicUrl]),
      [
        ["a", undefined, undefined],
        ["b", "/b", undefined],
      ],
    );
    assert.equal(
      problem(aggregate('route = "/mcp"\nservers = ["a"]\n') + server("a") + server("files")),
      'servers[1].route: needed unless the server is in [aggregate] (e.g. route = "/files/mcp", or name it in aggregate.servers)',
    );
    assert.equal(
      problem(server("a", "/a") + server("files")),
      'servers[1].route: needed unless the server is in [aggregate] (e.g. route = "/files/mcp", or add an [aggregate] table)',
    );
  });

  it("refuses an unknown key, suggesting the close one", () => {
    assert.deepEqual(
      problem(aggregate('route = "/mcp"\nseperator = "-"\ngrace_sec = 1\nfoo = 1\n') + server("a")).split(
        "\n",
      ),
      [
        "unknown key aggregate.seperator (did you mean aggregate.separator?)",
        "unknown key aggregate.grace_sec (did you mean aggregate.grace_secs?)",
        "unknown key aggregate.foo",
      ],
    );
  });

  it("refuses a missing or bad route as a server's route is refused, unreachable routes included", () => {
    assert.match(problem(aggregate("grace_secs = 1\n") + server("a")), /^aggregate\.route: /);
    assert.match(
      problem(aggregate('route = "mcp"\n') + server("a")),
      /^aggregate\.route: expected a path starting with "\/", without query/,
    );
    assert.match(
      problem(aggregate('route = "/a/../mcp"\n') + server("a")),
      /^aggregate\.route: no request can reach it: /,
    );
    assert.match(
      problem(aggregate('route = "/.well-known/oauth-authorization-server/x"\n') + server("a")),
      /^aggregate\.route: no request can reach it: paths under an OAuth discovery document's name/,
    );
  });

  it("refuses a separator of other characters or longer than 2, a grace or list timeout out of range", () => {
    for (const separator of ["", "___", "+", "__a", " ", "/"]) {
      assert.match(
        problem(aggregate(`route = "/mcp"\nseparator = ${JSON.stringify(separator)}\n`) + server("a")),
        /^aggregate\.separator: expected 1 or 2 of '_', '-', '\.'/,
        JSON.stringify(separator),
      );
    }
    for (const ok of ["_", "-", ".", "--", "-.", "._"]) {
      const { config } = loadToml(aggregate(`route = "/mcp"\nseparator = "${ok}"\n`) + server("a"));
      assert.equal(config.aggregate?.separator, ok);
    }
    for (const [key, value] of [
      ["grace_secs", "-1"],
      ["grace_secs", "86401"],
      ["grace_secs", "1.5"],
      ["list_timeout_ms", "0"],
      ["list_timeout_ms", "600001"],
    ] as const) {
      assert.match(
        problem(aggregate(`route = "/mcp"\n${key} = ${value}\n`) + server("a")),
        new RegExp(`^aggregate\\.${key}: `),
        `${key} = ${value}`,
      );
    }
    const edges = loadToml(
      aggregate('route = "/mcp"\ngrace_secs = 0\nlist_timeout_ms = 600000\n') + server("a"),
    );
    assert.deepEqual([edges.config.aggregate?.graceMs, edges.config.aggregate?.listTimeoutMs], [0, 600_000]);
  });

  it("refuses an aggregate without [[servers]], telling how to name the one server", () => {
    assert.equal(
      problem(`${aggregate()}[[upstreams]]\nurl = "http://127.0.0.1:1/"\n`),
      "aggregate: needs [[servers]]: the top-level [[upstreams]] are one server without a name; " +
        "make them a [[servers]] table with a name and a route, its upstreams as [[servers.upstreams]]",
    );
  });

  it("refuses aggregate.servers naming no server (suggesting the close one) or naming one twice", () => {
    assert.equal(
      problem(aggregate('route = "/mcp"\nservers = ["github", "gihub"]\n') + server("github")),
      'aggregate.servers[1]: "gihub" is not the name of any [[servers]] table (did you mean "github"?)',
    );
    assert.equal(
      problem(aggregate('route = "/mcp"\nservers = ["zzz"]\n') + server("github")),
      'aggregate.servers[0]: "zzz" is not the name of any [[servers]] table',
    );
    assert.equal(
      problem(aggregate('route = "/mcp"\nservers = ["a", "b", "a"]\n') + server("a") + server("b")),
      'aggregate.servers[2]: "a" is already aggregate.servers[0]',
    );
    assert.match(problem(aggregate('route = "/mcp"\nservers = []\n') + server("a")), /^aggregate\.servers: /);
  });

  it("refuses an aggregate route overlapping any server's route, naming both keys", () => {
    for (const [mine, theirs] of [
      ["/mcp", "/mcp"],
      ["/mcp", "/mcp/x"],
      ["/mcp/x", "/mcp"],
      ["/mcp/", "/mcp"],
    ] as const) {
      assert.equal(
        // the server outside the aggregate counts too: a request must reach one of them
        problem(
          aggregate(`route = "${mine}"\nservers = ["a"]\n`) + server("a", "/a/mcp") + server("b", theirs),
        ),
        `aggregate.route "${mine}" overlaps servers[1].route "${theirs}": a request could reach either; ` +
          "give them routes apart (e.g. /mcp for the aggregate and /github/mcp for a server)",
        `${mine} and ${theirs}`,
      );
    }
    assert.match(
      problem(aggregate('route = "/"\n') + server("b", "/b")),
      /^aggregate\.route "\/" overlaps servers\[0\]\.route "\/b": /,
    );
    const apart = loadToml(aggregate('route = "/mcp"\n') + server("a", "/mcpx") + server("b", "/m"));
    assert.equal(apart.config.aggregate?.route, "/mcp", "/mcp and /mcpx are apart (segment boundary)");
  });

  it("refuses server names an aggregate name could be split into two ways under the separator, naming both", () => {
    assert.equal(
      problem(aggregate('route = "/mcp"\nseparator = "-"\n') + server("a") + server("a-b")),
      'servers[1].name "a-b" and servers[0].name "a": with aggregate.separator "-", a name such as "a-b-x" ' +
        'could be either server\'s; rename one, or choose another separator ("__", the default, is never read two ways)',
    );
    assert.match(
      problem(aggregate('route = "/mcp"\nseparator = "-"\n') + server("a-b") + server("a")),
      /^servers\[1\]\.name "a" and servers\[0\]\.name "a-b": .* "a-b-x" /,
      "whichever comes first in the file",
    );
    assert.match(
      problem(aggregate('route = "/mcp"\nseparator = "--"\n') + server("x") + server("x-")),
      /^servers\[1\]\.name "x-" and servers\[0\]\.name "x": .* "x---x" /,
      "a name ending in part of the separator",
    );
    for (const separator of ["__", "_", ".", "-.", "-"]) {
      const names = separator === "-" ? ["ab", "a", "b-a"] : ["a", "a-b", "a--b"];
      const { config } = loadToml(
        aggregate(`route = "/mcp"\nseparator = "${separator}"\n`) + names.map((n) => server(n)).join(""),
      );
      assert.deepEqual(config.aggregate?.servers, names, `separator ${separator}`);
    }
    // a server outside the aggregate is never split from an aggregate name
    const outside = loadToml(
      aggregate('route = "/mcp"\nseparator = "-"\nservers = ["a"]\n') + server("a") + server("a-b", "/ab"),
    );
    assert.deepEqual(outside.config.aggregate?.servers, ["a"]);
  });

  it("refuses an aggregate with proxy.read_jsonrpc off", () => {
    assert.equal(
      problem(`[proxy]\nread_jsonrpc = false\n${aggregate()}${server("a")}`),
      "aggregate: needs proxy.read_jsonrpc = true (the aggregate answers lists itself and routes calls by name)",
    );
  });
});

describe("--aggregate ROUTE", () => {
  const flagServers = ["a=http://127.0.0.1:1/mcp", "b=http://127.0.0.1:2/mcp"];
  const refusal = (flags: ConfigFlags): string => {
    try {
      loadConfig(flags, {});
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail("refused");
  };

  it("with --server flags: one endpoint over every server, the other keys at their defaults", () => {
    const { config } = loadConfig({ servers: flagServers, aggregate: "/mcp" }, {});
    assert.deepEqual(config.aggregate, {
      route: "/mcp",
      servers: ["a", "b"],
      separator: "__",
      graceMs: 60_000,
      listTimeoutMs: 2000,
    });
    assert.deepEqual(
      config.servers.map((s) => s.route),
      ["/a", "/b"],
      "each server still on its own route",
    );
  });

  it("over the file's [[servers]], in place of the file's [aggregate]", () => {
    const path = configFile(
      aggregate('route = "/all"\nservers = ["x"]\nseparator = "-"\ngrace_secs = 1\n') +
        server("x", "/x") +
        server("y"),
    );
    const { config } = loadConfig({ configPath: path, aggregate: "/mcp" }, {});
    assert.deepEqual(config.aggregate, {
      route: "/mcp",
      servers: ["x", "y"],
      separator: "__",
      graceMs: 60_000,
      listTimeoutMs: 2000,
    });
  });

  it("--upstream replaces the file's [aggregate] with its servers; --server keeps it, over the flags' servers", () => {
    const path = configFile(aggregate() + server("x", "/x"));
    const upstream = loadConfig({ configPath: path, upstreams: ["http://127.0.0.1:1/"] }, {});
    assert.equal(upstream.config.aggregate, undefined);
    assert.deepEqual(
      upstream.config.servers.map((s) => [s.name, s.route]),
      [["default", "/"]],
    );
    const servers = loadConfig({ configPath: path, servers: flagServers }, {});
    assert.deepEqual(servers.config.aggregate?.servers, ["a", "b"]);
  });

  it("refuses --aggregate with --upstream, without servers, or with a route no request reaches, naming the flag", () => {
    assert.match(
      refusal({ upstreams: ["http://127.0.0.1:1/"], aggregate: "/mcp" }),
      /^--aggregate: not used with --upstream /,
    );
    const oldForm = configFile('[[upstreams]]\nurl = "http://127.0.0.1:1/"\n');
    for (const flags of [{ aggregate: "/mcp" }, { configPath: oldForm, aggregate: "/mcp" }]) {
      assert.equal(
        refusal(flags),
        "--aggregate: needs servers to merge: --server NAME=URL, or [[servers]] in the file",
      );
    }
    assert.equal(
      refusal({ servers: flagServers, aggregate: "mcp" }),
      '--aggregate "mcp": expected a path starting with "/", without query',
    );
    assert.match(
      refusal({ servers: flagServers, aggregate: "/x/../mcp" }),
      /^--aggregate "\/x\/\.\.\/mcp": no request can reach it: /,
    );
    assert.match(
      refusal({ servers: ["mcp=http://127.0.0.1:1/"], aggregate: "/mcp" }),
      /^command line: aggregate\.route "\/mcp" overlaps servers\[0\]\.route "\/mcp": /,
      "a --server on the same route",
    );
  });
});
