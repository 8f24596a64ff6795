import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { discoveryDocument } from "../../src/http/discovery.ts";
import { routeRemainder } from "../../src/http/targetPath.ts";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import { barePool } from "../support/bareProxy.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";

function pools(routes: readonly string[]): ServerPool[] {
  return routes.map((route, i) => barePool({ name: `s${i}`, route, upstreams: [new FakeUpstream(`u${i}`)] }));
}

/** What a lookup over every route with `routeRemainder` finds: the route and the remainder. */
function byScan(routes: readonly string[], target: string): [string, string] | undefined {
  for (const route of routes) {
    const remainder = routeRemainder(route, target);
    if (remainder !== undefined) return [route, remainder];
  }
  return undefined;
}

/**
 * Runs `look` counting the table's map reads (`Map#get`); any pass over a map's entries while it runs
 * (a scan) fails the test.
 */
function mapReads(look: () => void): number {
  const proto = Map.prototype as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
  const get = proto["get"] as (...args: unknown[]) => unknown;
  const scans = ["forEach", "entries", "keys", "values", Symbol.iterator] as const;
  const saved = scans.map((name) => proto[name]);
  let reads = 0;
  let scanned = 0;
  proto["get"] = function (this: unknown, ...args: unknown[]) {
    reads++;
    return get.apply(this, args);
  };
  scans.forEach((name, i) => {
    const original = saved[i] as (...args: unknown[]) => unknown;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      scanned++;
      return original.apply(this, args);
    };
  });
  try {
    look();
  } finally {
    proto["get"] = get;
    scans.forEach((name, i) => {
      proto[name] = saved[i] as (...args: unknown[]) => unknown;
    });
  }
  assert.equal(scanned, 0, "no pass over a map's entries per request");
  return reads;
}

describe("RouteTable: which server a target reaches (SPEC §7.1)", () => {
  it("picks the server by route with trailing slashes and queries as routeRemainder does, and answers 404 outside every route", () => {
    const routes = ["/mcp", "/a/", "/x/y/", "/github/mcp", "/notes", "/n"];
    const table = new RouteTable(pools(routes));
    const targets = [
      "/mcp",
      "/mcp/",
      "/mcp?x=1",
      "/mcp?x=/a/",
      "/mcpx",
      "/mcp/x/y?z",
      "/a",
      "/a/",
      "/a/b?c",
      "/a?x",
      "/x",
      "/x/y",
      "/x/y/",
      "/x/y/z",
      "/github",
      "/github/mcp/",
      "/github/mcpx",
      "/notes?a=/b",
      "/notes/",
      "/notesx",
      "/n/notes",
      "/",
      "",
      "/nowhere",
      "/%6Dcp",
      "//mcp",
    ];
    for (const target of targets) {
      const found = table.match(target);
      const expected = byScan(routes, target);
      assert.deepEqual(found && [found.server.route, found.remainder], expected, target);
    }
    assert.equal(table.match("/nowhere"), undefined);
    assert.equal(table.notFound, "not found: no route of this proxy serves this path");
  });

  it("matches one route as routeRemainder does, and names it when a target is outside it", () => {
    for (const route of ["/", "/mcp", "/a/"]) {
      const table = new RouteTable(pools([route]));
      for (const target of ["/", "/mcp", "/mcp/x?y", "/mcpx", "/a", "/a/b", "/?q"]) {
        const found = table.match(target);
        assert.deepEqual(found && [found.server.route, found.remainder], byScan([route], target), target);
      }
      assert.equal(table.notFound, `not found: this proxy serves ${route}`);
    }
  });

  it("looks a route up in as many map reads with 100 routes as with 2", () => {
    const names = Array.from({ length: 100 }, (_, i) => `/s${String(i + 1).padStart(3, "0")}`);
    const many = new RouteTable(pools(names));
    const two = new RouteTable(pools(names.slice(0, 2)));
    for (const target of ["/s001/mcp", "/s002?x=1", "/s050/a/b", "/zzzz/q/r", "/nowhere", "/s100"]) {
      const readsMany = mapReads(() => many.match(target));
      const readsTwo = mapReads(() => two.match(target));
      assert.equal(readsMany, readsTwo, target);
      const segments = target.split("?")[0]?.split("/").length ?? 0;
      assert.ok(readsMany <= 2 * segments, `${target}: ${readsMany} reads`);
    }
    assert.equal(many.match("/s050/a/b")?.server.route, "/s050");
  });

  it("refuses two servers on one route, or of one name", () => {
    assert.throws(() => new RouteTable(pools(["/a", "/a"])), /route \/a/);
    const [one] = pools(["/a"]);
    const again = barePool({ name: "s0", route: "/b", upstreams: [new FakeUpstream("v")] });
    assert.throws(() => new RouteTable([one as ServerPool, again]), /named s0/);
  });
});

describe("RouteTable: OAuth discovery documents (SPEC §4.2)", () => {
  const discover = (table: RouteTable, target: string) => {
    const document = discoveryDocument(target);
    assert.ok(document !== undefined, target);
    const found = table.discovery(document);
    return (
      found && { route: found.server.route, remainder: found.remainder, inRoute: found.discovery?.inRoute }
    );
  };

  it("routes an OAuth discovery request by its suffix to the server of that route; a bare one to the only server, or 404 among several", () => {
    const several = new RouteTable(pools(["/notes/mcp", "/files/mcp"]));
    assert.deepEqual(discover(several, "/.well-known/oauth-protected-resource/notes/mcp"), {
      route: "/notes/mcp",
      remainder: "",
      inRoute: true,
    });
    assert.deepEqual(discover(several, "/.well-known/oauth-protected-resource/files/mcp/x?y=1"), {
      route: "/files/mcp",
      remainder: "/x?y=1",
      inRoute: true,
    });
    assert.equal(discover(several, "/.well-known/oauth-protected-resource"), undefined);
    assert.equal(discover(several, "/.well-known/oauth-authorization-server/tenant1"), undefined);

    const one = new RouteTable(pools(["/mcp"]));
    assert.deepEqual(discover(one, "/.well-known/oauth-protected-resource"), {
      route: "/mcp",
      remainder: "",
      inRoute: false,
    });
    assert.deepEqual(discover(one, "/.well-known/oauth-authorization-server/tenant1"), {
      route: "/mcp",
      remainder: "/tenant1",
      inRoute: false,
    });
  });
});
