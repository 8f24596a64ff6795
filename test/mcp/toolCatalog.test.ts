import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { ToolCatalog } from "../../src/mcp/ToolCatalog.ts";
import { ToolCircuits } from "../../src/mcp/ToolCircuits.ts";

describe("ToolCatalog: the tools an upstream has shown", () => {
  it("adds each list to the earlier ones; when full, the name listed longest ago leaves", () => {
    const catalog = new ToolCatalog(3);
    catalog.listed(["a", "b"]);
    catalog.listed(["c", "a"]);
    catalog.listed(["d"]);
    assert.deepEqual(
      ["a", "b", "c", "d"].map((n) => catalog.lists(n)),
      [true, false, true, true],
    );
  });

  it("keeps a list longer than its capacity up to it, first names first", () => {
    const catalog = new ToolCatalog(2);
    catalog.listed(["a", "b", "c"]);
    assert.deepEqual(
      ["a", "b", "c"].map((n) => catalog.lists(n)),
      [true, true, false],
    );
  });

  it("knows only tool names (SEP-986): 1 to 128 letters, digits, _ - .", () => {
    const catalog = new ToolCatalog(10);
    const names = ["ok_name-1.v2", "", "has space", "x".repeat(129), "x".repeat(128), "ünïcode", "a/b"];
    catalog.listed(names);
    for (const name of names) catalog.answered(name);
    assert.deepEqual(
      names.map((n) => catalog.knows(n)),
      [true, false, false, false, true, false, false],
    );
  });

  it("holds names known from answers apart: bounded on their own, never in a listed name's place", () => {
    const catalog = new ToolCatalog(2);
    catalog.listed(["a", "b"]);
    for (const name of ["x", "y", "z"]) catalog.answered(name);
    assert.deepEqual(
      ["a", "b", "x", "y", "z"].map((n) => catalog.knows(n)),
      [true, true, false, true, true],
    );
    assert.equal(catalog.lists("y"), false);
    catalog.listed(["y"]);
    assert.equal(catalog.lists("y"), true, "listed later: a listed name now");
  });
});

describe("ToolCircuits: room for the tools an upstream lists", () => {
  function setup(maxTools: number) {
    const registry = new CircuitRegistry();
    const catalog = new ToolCatalog(maxTools);
    const config = { enabled: true, maxTools, breaker: { failureThreshold: 1 } };
    const tools = new ToolCircuits(registry, new Map([["u", config]]), new Map([["u", catalog]]));
    const removed: string[] = [];
    registry.onRemoved((circuit) => removed.push(circuit.tool ?? "(upstream)"));
    const made = () => [...registry.toolsOf("u")].map((c) => c.tool);
    return { registry, catalog, tools, removed, made };
  }

  it("makes no circuit for a name the upstream has not shown: what a fleet message names goes through it too", () => {
    const { tools, catalog, made } = setup(10);
    assert.equal(tools.circuitFor("u", "unknown"), undefined);
    assert.equal(tools.circuitFor("u", "x".repeat(4_000_000)), undefined);
    catalog.listed(["known"]);
    const circuit = tools.circuitFor("u", "known");
    assert.equal(circuit?.tool, "known");
    assert.equal(tools.circuitFor("u", "known"), circuit, "made once");
    assert.equal(tools.circuitFor("other", "known"), undefined, "no such upstream");
    assert.deepEqual(made(), ["known"]);
  });

  it("puts a listed tool in the place of an unlisted one's circuit, a closed one first, never one the operator holds", () => {
    const { tools, catalog, made, removed } = setup(3);
    catalog.answered("seen");
    tools.circuitFor("u", "seen")?.breaker.forceOpen(); // held by the operator
    const failing = tools.forOperator("u", "failing");
    const permit = failing?.breaker.tryAcquire();
    if (permit?.admitted) permit.failure(); // open, not held
    tools.forOperator("u", "idle"); // closed
    catalog.listed(["one", "two", "three"]);
    assert.equal(tools.circuitFor("u", "one")?.tool, "one");
    assert.deepEqual(removed, ["idle"], "the closed one made room first");
    assert.equal(tools.circuitFor("u", "two")?.tool, "two");
    assert.deepEqual(removed, ["idle", "failing"]);
    assert.equal(tools.circuitFor("u", "three"), undefined, "the operator's hold stays");
    assert.deepEqual(made(), ["seen", "one", "two"]);
  });

  it("gives a tool known from an answer a circuit only while there is room", () => {
    const { tools, catalog, made } = setup(1);
    catalog.answered("first");
    tools.circuitFor("u", "first");
    catalog.answered("second");
    assert.equal(tools.circuitFor("u", "second"), undefined);
    assert.deepEqual(made(), ["first"]);
  });

  it("lets the operator make a circuit for any tool name, listed or not, within max_tools", () => {
    const { tools, catalog } = setup(1);
    assert.equal(tools.forOperator("u", "not listed")?.tool, undefined, "no tool name");
    assert.equal(tools.forOperator("u", "not_listed")?.tool, "not_listed");
    tools.forOperator("u", "not_listed")?.breaker.disable();
    catalog.listed(["listed"]);
    assert.equal(tools.forOperator("u", "other"), undefined, "full, and the one there is held");
    assert.equal(tools.circuitFor("u", "listed"), undefined);
  });

  it("has none with tool circuits off", () => {
    const registry = new CircuitRegistry();
    const catalog = new ToolCatalog(5);
    catalog.listed(["a"]);
    const config = { enabled: false, maxTools: 5, breaker: {} };
    const tools = new ToolCircuits(registry, new Map([["u", config]]), new Map([["u", catalog]]));
    assert.equal(tools.catalogOf("u"), undefined);
    assert.equal(tools.circuitFor("u", "a"), undefined);
    assert.equal(tools.forOperator("u", "a"), undefined);
  });
});
