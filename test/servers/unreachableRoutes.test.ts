import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadToml } from "../support/configFiles.ts";

const load = loadToml;
const twoServers = (route: string) =>
  `[[servers]]\nname = "a"\nroute = "${route}"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n` +
  `[[servers]]\nname = "b"\nroute = "/b/mcp"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:2/"\n`;

describe("a route no request can reach is a config error naming servers[i].route", () => {
  for (const route of ["/a/../mcp", "/a/./mcp", "/.well-known/oauth-protected-resource/a", "//host/mcp"]) {
    it(`refuses route = "${route}" (requests to it are refused 400 or taken as OAuth discovery)`, () => {
      assert.throws(
        () => load(twoServers(route)),
        (error: Error) => error instanceof ConfigError && /servers\[0\]\.route/.test(error.message),
      );
    });
  }
});
