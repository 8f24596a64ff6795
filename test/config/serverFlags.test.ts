import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { type ConfigFlags, loadConfig } from "../../src/config/loadConfig.ts";
import { configFile } from "../support/configFiles.ts";

const file = configFile;

const serversFile =
  '[[servers]]\nname = "old"\nroute = "/old"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/mcp"\n';
const upstreamsFile = '[server]\nroute = "/mcp"\n[[upstreams]]\nurl = "http://127.0.0.1:1/mcp"\n';

/** What the servers are: name, route, and each upstream's name and URL. */
function servers(flags: ConfigFlags) {
  return loadConfig(flags, {}).config.servers.map((s) => ({
    name: s.name,
    route: s.route,
    upstreams: s.upstreams.map((u) => `${u.name} ${u.url?.href}`),
  }));
}

function refusal(flags: ConfigFlags): string {
  try {
    loadConfig(flags, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("refused");
}

describe("--server and --upstream NAME=URL", () => {
  it("--server a=URL --server a=URL2 --server b=URL3 makes two servers on /a and /b", () => {
    const flags = {
      servers: ["a=http://127.0.0.1:1/mcp", "a=http://127.0.0.1:2/mcp", "b=http://127.0.0.1:3/"],
    };
    const expected = [
      { name: "a", route: "/a", upstreams: ["a-1 http://127.0.0.1:1/mcp", "a-2 http://127.0.0.1:2/mcp"] },
      { name: "b", route: "/b", upstreams: ["b-1 http://127.0.0.1:3/"] },
    ];
    assert.deepEqual(servers(flags), expected);
    assert.deepEqual(
      servers({ ...flags, configPath: file(serversFile) }),
      expected,
      "in place of the file's servers",
    );
    assert.deepEqual(
      servers({ ...flags, configPath: file(upstreamsFile) }),
      expected,
      "in place of the file's upstreams (and the route of that one server)",
    );
  });

  it("--upstream name=URL names the upstream; a URL with = in its query stays a URL", () => {
    assert.deepEqual(
      servers({
        upstreams: [
          "primary=http://127.0.0.1:1/mcp",
          "http://127.0.0.1:2/mcp?token=abc&x=1",
          "b.2_x-y=http://127.0.0.1:3/?a=b",
        ],
      }),
      [
        {
          name: "default",
          route: "/",
          upstreams: [
            "primary http://127.0.0.1:1/mcp",
            "http://127.0.0.1:2/mcp?token=abc&x=1 http://127.0.0.1:2/mcp?token=abc&x=1",
            "b.2_x-y http://127.0.0.1:3/?a=b",
          ],
        },
      ],
    );
    assert.deepEqual(
      servers({ upstreams: ["u=http://127.0.0.1:5/"], route: "/mcp", configPath: file(serversFile) }),
      [{ name: "default", route: "/mcp", upstreams: ["u http://127.0.0.1:5/"] }],
      "in place of the file's servers",
    );
  });

  it("refuses --server with --upstream or with --route, naming the flags", () => {
    assert.match(
      refusal({ servers: ["a=http://127.0.0.1:1/"], upstreams: ["http://127.0.0.1:2/"] }),
      /^--server and --upstream: use one/,
    );
    assert.equal(
      refusal({ servers: ["a=http://127.0.0.1:1/"], route: "/mcp" }),
      "--route: not used with --server (each server is on /NAME)",
    );
    assert.match(
      refusal({ route: "/mcp", configPath: file(serversFile) }),
      /^--route: not used with \[\[servers\]\] \(each server has its own route\)/,
    );
  });

  it("refuses a --server without a valid NAME= or URL, naming the flag and hiding a password", () => {
    for (const value of [
      "http://127.0.0.1:1/",
      "github",
      "GitHub=http://h/",
      `${"a".repeat(33)}=http://h/`,
    ]) {
      assert.match(
        refusal({ servers: [value] }),
        /^--server ".*": expected NAME=URL, the NAME 1 to 32 of a-z/,
      );
    }
    assert.equal(
      refusal({ servers: ["a=ftp://h/"] }),
      '--server "a=ftp://h/": expected an http:// or https:// URL',
    );
    const secret = refusal({ servers: ["a=http://alice:s3cret@h/"] });
    assert.match(secret, /^--server "a=http:\/\/alice:\*\*\*@h\/": credentials in the URL are not sent/);
    const named = refusal({ upstreams: ["a=http://alice:s3cret@h/"] });
    assert.match(named, /^--upstream "a=http:\/\/alice:\*\*\*@h\/": credentials in the URL are not sent/);
    assert.equal(
      refusal({ upstreams: ["a=nope"] }),
      '--upstream "a=nope": expected an http:// or https:// URL',
    );
  });
});
