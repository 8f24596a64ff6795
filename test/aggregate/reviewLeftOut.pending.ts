import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nameList } from "../../src/aggregate/AggregateNames.ts";
import { MergedList, type ServerShare } from "../../src/aggregate/MergedList.ts";

// Pending (not fixed): SPEC §7.2 asks every list result to name each left-out item in
// `_meta["breakwater/servers"][s].left_out`; a server whose list is all invalid names puts them all
// into every client's every list answer (every page), rebuilt per request. Bounding it changes the
// result's shape (a count and the first names, say), which is the spec's call.

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

describe("a hostile server's left-out names (review of SPEC §7.2, pending)", () => {
  it("cost other servers' clients a bounded list answer", () => {
    // 10,000 tools (the items bound), each named 700 characters: ~7 MiB, under the 8 MiB list bound
    const evil = share(
      "evil",
      Array.from({ length: 10_000 }, (_, i) => ({ name: `${i}`.padEnd(700, "x"), inputSchema: {} })),
    );
    const good = share("good", [{ name: "add", inputSchema: { type: "object" } }]);
    const merged = new MergedList("tools");
    merged.rebuild([good, evil]);
    const started = performance.now();
    const answer = merged.answer([good, evil], "earlier", undefined);
    const ms = performance.now() - started;
    const bytes = "result" in answer ? answer.result.length : 0;
    assert.ok(
      bytes < 64 * 1024,
      `one tools/list answer of one good tool is ${bytes} bytes (${ms.toFixed(1)} ms)`,
    );
  });
});
