import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settingChanges } from "../../src/reload/settingChanges.ts";
import { loadToml } from "../support/configFiles.ts";

const load = loadToml;

const a = '[[servers]]\nname = "a"\nroute = "/a"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n';

describe("settings a reload changes, besides upstreams and servers", () => {
  it("a reload that edits, adds or removes a server names no changed key (the server plan tells it)", () => {
    const before = load(a);
    const edited = load(
      '[[servers]]\nname = "a"\nroute = "/a/mcp"\ntools = { exclude = ["x"] }\nmax_in_flight = 3\n' +
        "[servers.circuit_breaker]\nfailure_threshold = 2\n" +
        '[[servers.upstreams]]\nurl = "http://127.0.0.1:1/"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:2/"\n' +
        '[[servers]]\nname = "b"\nroute = "/b"\n[[servers.upstreams]]\nurl = "http://127.0.0.1:3/"\n',
    );
    assert.deepEqual(settingChanges(before, edited), { applied: [], needRestart: [] });
    assert.deepEqual(settingChanges(edited, before), { applied: [], needRestart: [] });
  });

  it("still names a changed key beside an edited server", () => {
    const before = load(a);
    const after_ = load(`[server]\nmax_body_bytes = 7\n${a.replace('"/a"', '"/x"')}`);
    assert.deepEqual(settingChanges(before, after_), { applied: ["server.max_body_bytes"], needRestart: [] });
  });
});
