import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nameList } from "../../src/aggregate/AggregateNames.ts";
import { MergedList, type ServerShare } from "../../src/aggregate/MergedList.ts";

// A server whose list is all invalid names would put them all into every client's every list answer
// (every page, rebuilt per request): the result names the first 100, cut to 128 characters, and counts them.

function share(name: string, items: Record<string, unknown>[]): ServerShare {
  const tools = nameList("tools", name, "__", items, undefined);
  return {
    name,
    listed: () => "current",
    items: (kind) => (kind === "tools" ? tools.items : []),
    leftOut: (kind) => (kind === "tools" ? tools.leftOut : []),
    ttlMs: () => undefined,
    cacheScope: () => undefined,
    circuit: () => ({ state: "closed", retryAfterMs: undefined }),
    reason: undefined,
  };
}

describe("a hostile server's left-out names (review of SPEC §7.2)", () => {
  it("cost other servers' clients a bounded list answer: the first 100 named, cut to 128 characters, and counted", () => {
    // 10,000 tools (the items bound), each named 700 characters: ~7 MiB, under the 8 MiB list bound
    const evil = share(
      "evil",
      Array.from({ length: 10_000 }, (_, i) => ({ name: `${i}`.padEnd(700, "x"), inputSchema: {} })),
    );
    const good = share("good", [{ name: "add", inputSchema: { type: "object" } }]);
    const merged = new MergedList("tools");
    merged.rebuild([good, evil]);
    const answer = merged.answer([good, evil], "earlier", undefined);
    const text = "result" in answer ? answer.result : "";
    assert.ok(text.length < 64 * 1024, `one tools/list answer of one good tool is ${text.length} bytes`);
    const told = (JSON.parse(text) as { _meta: Record<string, Record<string, Record<string, unknown>>> })
      ._meta["breakwater/servers"]?.["evil"];
    assert.equal(((told?.["left_out"] ?? []) as string[]).length, 100);
    assert.equal(((told?.["left_out"] ?? []) as string[])[0]?.length, 128);
    assert.equal(told?.["left_out_count"], 10_000);
  });
});
