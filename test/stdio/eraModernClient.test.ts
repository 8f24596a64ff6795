import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { until } from "../support/until.ts";
import { modernServer, rig, sdk2Client, textOf } from "./stdioRig.ts";

describe("a 2026-07-28 stdio server through Breakwater (SPEC §8.3)", () => {
  it("serves an SDK 2.x client pinned to 2026-07-28: tools, progress, input_required rounds, listen with list_changed", async () => {
    const { proxy, upstream, pids } = await rig([], {}, modernServer);
    const client = await sdk2Client(proxy.url);
    assert.equal(upstream.era, "modern", "the probe of its first process found the modern era");
    assert.equal(upstream.servesSessionless, true);

    const tools = await client.listTools();
    assert.ok(tools.tools.some((tool) => tool.name === "echo"));
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "hi" } })), "hi");

    const progress: number[] = [];
    const slow = await client.callTool(
      { name: "slow", arguments: { steps: 3 } },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    assert.equal(textOf(slow), "3 steps");
    assert.deepEqual(progress, [1, 2, 3], "each progress notification, with the client's own token");

    const confirmed = await client.callTool({ name: "confirm", arguments: { action: "deploy" } });
    assert.equal(textOf(confirmed), "deploy: done", "the input_required round and its retry");

    const changes: string[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", (n) => void changes.push(n.method));
    const subscription = await client.listen({ toolsListChanged: true });
    await client.callTool({ name: "grow", arguments: { name: "sprout" } });
    await until(() => changes.length === 1, "the list_changed notification reaches the listen stream");
    await subscription.close();
    assert.equal(pids().length, 1, "one process served it all");
  });
});
