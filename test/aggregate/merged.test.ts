import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeftOut } from "../../src/aggregate/AggregateNames.ts";
import type { ListAnswer, Listed, ListKind } from "../../src/aggregate/contracts.ts";
import { MergedList, pageSize, type ServerShare } from "../../src/aggregate/MergedList.ts";

/** A server's share of the merged lists, as the test sets it. */
function share(
  name: string,
  tools: string[],
  facts: Partial<{
    listed: Listed;
    ttlMs: number;
    cacheScope: string;
    state: string;
    retryAfterMs: number;
    leftOut: LeftOut[];
  }> = {},
): ServerShare {
  return {
    name,
    listed: () => facts.listed ?? "current",
    items: (kind: ListKind) =>
      kind === "tools" ? tools.map((t) => ({ name: `${name}__${t}`, extra: { keep: [1, 2] } })) : [],
    leftOut: () => facts.leftOut ?? [],
    ttlMs: () => facts.ttlMs,
    cacheScope: () => facts.cacheScope,
    circuit: () => ({ state: facts.state ?? "closed", retryAfterMs: facts.retryAfterMs }),
    reason: undefined,
  };
}

/** A merged list's result as the tests read it. */
interface ListResult {
  readonly tools: readonly { readonly name: string }[];
  readonly nextCursor?: string;
  readonly _meta: Record<string, unknown>;
  readonly resultType?: string;
  readonly ttlMs?: number;
  readonly cacheScope?: string;
}

function result(answer: ListAnswer): ListResult {
  assert.ok("result" in answer, JSON.stringify(answer));
  return JSON.parse(answer.result);
}

test("the merged list is the union in config order and each server's order, items as the servers sent them", () => {
  const servers = [share("b", ["z", "a"]), share("a", ["m"])];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  const { tools } = result(merged.answer(servers, "modern", undefined));
  assert.deepEqual(tools, [
    { name: "b__z", extra: { keep: [1, 2] } },
    { name: "b__a", extra: { keep: [1, 2] } },
    { name: "a__m", extra: { keep: [1, 2] } },
  ]);
});

test("an omitted server's items are not in the merged list; a cached server's are", () => {
  const servers = [share("a", ["x"], { listed: "cached" }), share("b", ["y"], { listed: "omitted" })];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  assert.deepEqual(
    result(merged.answer(servers, "earlier", undefined)).tools.map((t: { name: string }) => t.name),
    ["a__x"],
  );
});

test("a 2026-07-28 result carries resultType complete, the smallest ttlMs and cacheScope private if any server's is", () => {
  const merged = new MergedList("tools");
  const publicOnes = [
    share("a", ["x"], { ttlMs: 5_000, cacheScope: "public" }),
    share("b", [], { ttlMs: 3_000, cacheScope: "public" }),
  ];
  merged.rebuild(publicOnes);
  const modern = result(merged.answer(publicOnes, "modern", undefined));
  assert.equal(modern.resultType, "complete");
  assert.equal(modern.ttlMs, 3_000);
  assert.equal(modern.cacheScope, "public");
  const onePrivate = [
    share("a", ["x"], { ttlMs: 5_000, cacheScope: "public" }),
    share("b", [], { ttlMs: 3_000, cacheScope: "private" }),
  ];
  assert.equal(result(merged.answer(onePrivate, "modern", undefined)).cacheScope, "private");
  const oneWithout = [share("a", ["x"], { ttlMs: 5_000, cacheScope: "public" }), share("b", [])];
  const partial = result(merged.answer(oneWithout, "modern", undefined));
  assert.equal(partial.ttlMs, 0, "a server without ttlMs counts 0");
  assert.equal(partial.cacheScope, "private", "a server without cacheScope counts private");
});

test("an earlier-era result carries neither resultType, ttlMs nor cacheScope", () => {
  const servers = [share("a", ["x"], { ttlMs: 5_000, cacheScope: "public" })];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  const earlier = result(merged.answer(servers, "earlier", undefined));
  assert.deepEqual(Object.keys(earlier).sort(), ["_meta", "tools"]);
});

test("ttlMs is 0 whenever a server is cached or omitted: a partial list is never cacheable", () => {
  const merged = new MergedList("tools");
  for (const listed of ["cached", "omitted"] as const) {
    const servers = [
      share("a", ["x"], { ttlMs: 5_000, cacheScope: "public" }),
      share("b", ["y"], { listed, ttlMs: 9_000, cacheScope: "public" }),
    ];
    merged.rebuild(servers);
    assert.equal(result(merged.answer(servers, "modern", undefined)).ttlMs, 0, listed);
  }
});

test('_meta["breakwater/servers"] tells per server its circuit state, listed, retryAfterMs and left_out', () => {
  const servers = [
    share("a", ["x"], { leftOut: [{ name: "bad name", reason: "invalid_name" }] }),
    share("b", ["y"], { listed: "cached", state: "open", retryAfterMs: 12_000 }),
  ];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  assert.deepEqual(result(merged.answer(servers, "earlier", undefined))._meta, {
    "breakwater/servers": {
      a: { state: "closed", listed: "current", left_out: ["bad name"] },
      b: { state: "open", listed: "cached", retryAfterMs: 12_000 },
    },
  });
});

test("a long merged list comes in pages of at most 1000 items, each cursor leading to the next", () => {
  const names = Array.from({ length: 2_500 }, (_, i) => `t${i}`);
  const servers = [share("a", names.slice(0, 1_200)), share("b", names.slice(1_200))];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = result(merged.answer(servers, "modern", cursor));
    assert.ok(page.tools.length <= pageSize);
    seen.push(...page.tools.map((t: { name: string }) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  assert.equal(pages, 3);
  assert.deepEqual(seen, [
    ...names.slice(0, 1_200).map((n) => `a__${n}`),
    ...names.slice(1_200).map((n) => `b__${n}`),
  ]);
});

test("a cursor of a merged list that changed since, or one Breakwater never made, is -32602 stale_cursor", () => {
  const servers = [
    share(
      "a",
      Array.from({ length: 1_500 }, (_, i) => `t${i}`),
    ),
  ];
  const merged = new MergedList("tools");
  merged.rebuild(servers);
  const cursor = result(merged.answer(servers, "modern", undefined)).nextCursor;
  assert.equal(typeof cursor, "string");
  assert.ok("result" in merged.answer(servers, "modern", cursor));
  const changed = [
    share(
      "a",
      Array.from({ length: 1_501 }, (_, i) => `t${i}`),
    ),
  ];
  merged.rebuild(changed);
  for (const stale of [cursor, "nonsense", "bw1.AAAA"]) {
    const answer = merged.answer(changed, "modern", stale);
    assert.ok("error" in answer);
    assert.equal(answer.error.code, -32602);
    assert.deepEqual(answer.error.data, { reason: "stale_cursor" });
  }
});
