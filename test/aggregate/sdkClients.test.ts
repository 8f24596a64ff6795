import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import type { McpEra } from "../../src/health/discoverEra.ts";
import { connectSdk2Client, firstText, type Sdk2HttpServer, startSdk2Server } from "../support/sdk2.ts";
import { until } from "../support/until.ts";
import { type AggregateRig, mcpPool, startAggregate } from "./endpointFakes.ts";

let server: Sdk2HttpServer;
let rig: AggregateRig;

before(async () => {
  server = await startSdk2Server("up");
  rig = await startAggregate([mcpPool("up", [server.url]).pool]);
  rig.lists.capabilitiesGiven = { tools: { listChanged: true } };
  const echo = '{"name":"up__echo","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}';
  rig.lists.answerWith = (kind: ListKind, era: McpEra) => ({
    result: `{"${kind}":[${kind === "tools" ? echo : ""}]${era === "modern" ? ',"resultType":"complete","ttlMs":0,"cacheScope":"private"' : ""}}`,
  });
});
after(async () => {
  await rig.close();
  await server.close();
});

describe("SDK 2.x clients of both eras through the aggregate (SPEC §7.2)", () => {
  it("a 2026-07-28 client discovers the aggregate, lists its tools and calls one on the server behind it", async () => {
    const client = await connectSdk2Client(`${rig.proxy.url}/mcp`, "auto");
    try {
      assert.equal(client.getServerVersion()?.name, "breakwater");
      const { tools } = await client.listTools();
      assert.deepEqual(
        tools.map((tool) => tool.name),
        ["up__echo"],
      );
      const result = await client.callTool({ name: "up__echo", arguments: { text: "hi" } });
      assert.equal(firstText(result), "hi (from up)");
      assert.equal(rig.hops.asked.at(-1)?.[1].era, "modern");
    } finally {
      await client.close();
    }
  });

  it("a 2026-07-28 client with listChanged opens subscriptions/listen and refreshes its tools on the aggregate's notification", async () => {
    const refreshed: string[][] = [];
    const client = new Client(
      { name: "listener", version: "1.0.0" },
      {
        versionNegotiation: { mode: "auto" },
        listChanged: {
          tools: {
            onChanged: (error, tools) => {
              if (error === null) refreshed.push((tools ?? []).map((tool) => tool.name));
            },
          },
        },
      },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(`${rig.proxy.url}/mcp`)));
    try {
      await until(() => rig.lists.listeners === 1, "the client's listen");
      rig.lists.change("tools");
      await until(() => refreshed.length === 1, "the refreshed tools");
      assert.deepEqual(refreshed[0], ["up__echo"]);
    } finally {
      await client.close();
    }
  });

  it("an earlier-era client initializes with the aggregate, calls a tool in its session and hears list changes on its GET stream", async () => {
    const client = await connectSdk2Client(`${rig.proxy.url}/mcp`, "legacy");
    let heard = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      heard++;
    });
    try {
      assert.equal(client.getServerVersion()?.name, "breakwater");
      const result = await client.callTool({ name: "up__echo", arguments: { text: "old" } });
      assert.equal(firstText(result), "old (from up)");
      const caller = rig.hops.asked.at(-1)?.[1];
      assert.equal(caller?.era, "earlier");
      await until(() => rig.endpoint.streams === 1, "the client's GET stream");
      rig.lists.change("tools");
      await until(() => heard === 1, "the list_changed notification");
    } finally {
      await client.close();
    }
  });
});
