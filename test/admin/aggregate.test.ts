import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import type { AggregateServerView, AggregateView } from "../../src/admin/AggregateView.ts";
import { ProxyMetrics } from "../../src/admin/ProxyMetrics.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { startServersAdmin } from "./serversAdmin.ts";

async function getJson(url: string): Promise<Record<string, unknown>> {
  return (await (await request(url)).body.json()) as Record<string, unknown>;
}

async function getText(url: string): Promise<string> {
  return (await request(url)).body.text();
}

/** The sample lines of `text` (no `#` comments). */
function samples(text: string): string[] {
  return text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

function server(name: string, view: Partial<AggregateServerView> = {}): AggregateServerView {
  return {
    name,
    listed: "current",
    tools: 0,
    prompts: 0,
    resources: 0,
    resourceTemplates: 0,
    leftOut: [],
    ...view,
  };
}

/** notes lists its own lists; files is cached (its circuit open) with 34 s of grace left; clock is omitted. */
const threeServers: AggregateView = {
  route: "/mcp",
  servers: [
    server("notes", {
      tools: 12,
      prompts: 2,
      resources: 3,
      resourceTemplates: 1,
      leftOut: [{ name: "bad name!", reason: "invalid" }],
    }),
    server("files", { listed: "cached", tools: 4, graceLeftMs: 34_000 }),
    server("clock", { listed: "omitted" }),
  ],
};

describe("admin of the aggregate", () => {
  let view: AggregateView | undefined = threeServers;
  let admin: Awaited<ReturnType<typeof startServersAdmin>>;

  before(async () => {
    admin = await startServersAdmin(
      { notes: ["notes-1"], files: ["files-1"], clock: ["clock-1"] },
      true,
      () => view,
    );
  });
  after(() => admin.close());

  it("shows in /health and /circuits, per server in config order, what the merged lists hold of it", async () => {
    for (const path of ["/health", "/circuits"]) {
      const body = await getJson(`${admin.url}${path}`);
      assert.deepEqual(Object.keys(body), ["status", "circuit_breakers", "servers", "aggregate"], path);
      const aggregate = body["aggregate"] as { route: string; servers: object };
      assert.equal(aggregate.route, "/mcp");
      assert.deepEqual(Object.keys(aggregate.servers), ["notes", "files", "clock"], path);
      assert.deepEqual(
        aggregate.servers,
        {
          notes: {
            listed: "current",
            tools: 12,
            prompts: 2,
            resources: 3,
            resource_templates: 1,
            left_out: [{ name: "bad name!", reason: "invalid" }],
          },
          files: {
            listed: "cached",
            tools: 4,
            prompts: 0,
            resources: 0,
            resource_templates: 0,
            grace_left_ms: 34_000,
          },
          clock: { listed: "omitted", tools: 0, prompts: 0, resources: 0, resource_templates: 0 },
        },
        path,
      );
    }
  });

  it("leaves status and /ready as the circuits make them, whatever the aggregate lists", async () => {
    view = {
      route: "/mcp",
      servers: ["notes", "files", "clock"].map((name) => server(name, { listed: "omitted" })),
    };
    try {
      const health = await getJson(`${admin.url}/health`);
      assert.equal(health["status"], "healthy", "every circuit is closed");
      const ready = await request(`${admin.url}/ready`);
      assert.deepEqual([ready.statusCode, await ready.body.json()], [200, { ready: true }]);
    } finally {
      view = threeServers;
    }
  });

  it("has no aggregate in /health or /circuits while there is none", async () => {
    view = undefined;
    try {
      for (const path of ["/health", "/circuits"]) {
        const body = await getJson(`${admin.url}${path}`);
        assert.deepEqual(Object.keys(body), ["status", "circuit_breakers", "servers"], path);
      }
    } finally {
      view = threeServers;
    }
    const without = await startServersAdmin({ notes: ["notes-1"] });
    try {
      assert.ok(!("aggregate" in (await getJson(`${without.url}/health`))));
    } finally {
      await without.close();
    }
  });

  it("exports each server's listed tools and its listed state (1 for the current one, 0 for the others)", async () => {
    const lines = samples(await getText(`${admin.url}/metrics`));
    for (const line of [
      'breakwater_aggregate_tools_listed{server="notes"} 12',
      'breakwater_aggregate_tools_listed{server="files"} 4',
      'breakwater_aggregate_tools_listed{server="clock"} 0',
      'breakwater_aggregate_listed{server="notes",listed="current"} 1',
      'breakwater_aggregate_listed{server="notes",listed="cached"} 0',
      'breakwater_aggregate_listed{server="notes",listed="omitted"} 0',
      'breakwater_aggregate_listed{server="files",listed="current"} 0',
      'breakwater_aggregate_listed{server="files",listed="cached"} 1',
      'breakwater_aggregate_listed{server="clock",listed="omitted"} 1',
    ]) {
      assert.ok(lines.includes(line), `missing: ${line}`);
    }
  });

  it("reads the view at each scrape: a change shows at once, and a server the aggregate no longer has leaves no series", async () => {
    view = { route: "/mcp", servers: [server("notes", { tools: 13 })] };
    try {
      const lines = samples(await getText(`${admin.url}/metrics`));
      assert.ok(lines.includes('breakwater_aggregate_tools_listed{server="notes"} 13'));
      const aggregateLines = lines.filter((l) => l.startsWith("breakwater_aggregate_"));
      assert.ok(!aggregateLines.some((l) => l.includes('server="files"') || l.includes('server="clock"')));
      view = undefined;
      const none = samples(await getText(`${admin.url}/metrics`));
      assert.deepEqual(
        none.filter((l) => l.startsWith("breakwater_aggregate_tools_listed")),
        [],
        "no aggregate, no series",
      );
    } finally {
      view = threeServers;
    }
  });

  it("counts the merged lists' changes by kind, from zero", async () => {
    const before = samples(await getText(`${admin.url}/metrics`));
    for (const kind of ["tools", "prompts", "resources"])
      assert.ok(before.includes(`breakwater_aggregate_list_changed_total{kind="${kind}"} 0`), kind);
    admin.metrics.aggregateListChanged("tools");
    admin.metrics.aggregateListChanged("tools");
    admin.metrics.aggregateListChanged("prompts");
    const lines = samples(await getText(`${admin.url}/metrics`));
    assert.ok(lines.includes('breakwater_aggregate_list_changed_total{kind="tools"} 2'));
    assert.ok(lines.includes('breakwater_aggregate_list_changed_total{kind="prompts"} 1'));
    assert.ok(lines.includes('breakwater_aggregate_list_changed_total{kind="resources"} 0'));
  });

  it("carries the aggregate on the dashboard's state, by server in config order; null without one", async () => {
    const state = await getJson(`${admin.url}/dashboard/state`);
    assert.deepEqual(state["aggregate"], {
      route: "/mcp",
      servers: [
        {
          name: "notes",
          listed: "current",
          tools: 12,
          prompts: 2,
          resources: 3,
          resource_templates: 1,
          left_out: [{ name: "bad name!", reason: "invalid" }],
          grace_left_ms: null,
        },
        {
          name: "files",
          listed: "cached",
          tools: 4,
          prompts: 0,
          resources: 0,
          resource_templates: 0,
          left_out: [],
          grace_left_ms: 34_000,
        },
        {
          name: "clock",
          listed: "omitted",
          tools: 0,
          prompts: 0,
          resources: 0,
          resource_templates: 0,
          left_out: [],
          grace_left_ms: null,
        },
      ],
    });
    view = undefined;
    try {
      assert.equal((await getJson(`${admin.url}/dashboard/state`))["aggregate"], null);
    } finally {
      view = threeServers;
    }
  });
});

describe("the aggregate's metrics without an admin listener", () => {
  it("export nothing of the aggregate until it is watched or a list changes", async () => {
    const metrics = new ProxyMetrics(new CircuitRegistry());
    assert.ok(!(await metrics.registry.metrics()).includes("breakwater_aggregate_"));
    metrics.aggregateListChanged("resources");
    const text = await metrics.registry.metrics();
    assert.ok(samples(text).includes('breakwater_aggregate_list_changed_total{kind="resources"} 1'));
  });

  it("take the view from the last watch, so wiring it twice registers nothing twice", async () => {
    const metrics = new ProxyMetrics(new CircuitRegistry());
    metrics.watchAggregate(() => ({ route: "/mcp", servers: [server("old", { tools: 1 })] }));
    metrics.watchAggregate(() => ({ route: "/mcp", servers: [server("new", { tools: 2 })] }));
    const lines = samples(await metrics.registry.metrics());
    assert.ok(lines.includes('breakwater_aggregate_tools_listed{server="new"} 2'));
    assert.ok(!lines.some((l) => l.includes('server="old"')));
  });
});
