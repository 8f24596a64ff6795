import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { closeAll, earlier, earlierClient, hopOf, modern, planner, poolAt, sdk1 } from "./hopCases.ts";
import { StandInPoolClient } from "./hopRig.ts";

after(closeAll);

describe("hops across a reload (review of SPEC §7.2)", () => {
  it("a modern client's call to an earlier-only server whose upstream a reload replaced goes to the new upstream, not the old one's shared session", async () => {
    const server = await sdk1("legacy");
    // a reload that changed the upstream's settings: a new upstream object of the same name and URL
    const before = new FakeUpstream("legacy-1");
    const now = new FakeUpstream("legacy-1");
    const urls = new Map<Upstream, string>([
      [before, server.url],
      [now, server.url],
    ]);
    const hops = planner(new StandInPoolClient(urls));
    const poolBefore = barePool({ name: "legacy", route: "/legacy", upstreams: [before] });
    assert.equal(hopOf(await hops.hop(poolBefore, modern)).bound, before);
    const poolNow = barePool({ name: "legacy", route: "/legacy", upstreams: [now] });
    const hop = hopOf(await hops.hop(poolNow, modern));
    assert.equal(hop.bound, now, "the call is bound to the upstream the reload took out of the pool");
  });
});

describe("hops when the aggregate closes (review of SPEC §7.2)", () => {
  it("a session that finishes opening after the planner closed is not held", async () => {
    const server = await sdk1("legacy");
    const { pool, poolClient } = poolAt("legacy", [server.url]);
    const hops = planner(poolClient);
    const opening = hops.hop(pool, earlier(earlierClient()));
    hops.close(); // a reload removed the aggregate (or shutdown) while the upstream's initialize was out
    await opening;
    assert.equal(hops.sessions, 0, "a session held (and its idle timer set) by a closed planner");
  });
});
