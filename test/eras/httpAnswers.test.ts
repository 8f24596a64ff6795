import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { inputRequired } from "@modelcontextprotocol/server";
import { until } from "../support/until.ts";
import { modernClient, proxyFor, type SdkServer, startSdkServer } from "./httpSdkServer.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Calls of the "slow" tools that have started at the server. */
let started = 0;

/** An SDK 2.x server with the tools these tests call, Breakwater in front, and an SDK 2.x client at 2026-07-28. */
async function fleet(toml = "") {
  const sdk: SdkServer = await startSdkServer((server) => {
    server.registerTool("echo", {}, async () => ({ content: [{ type: "text", text: "hi" }] }));
    // one round of MRTR (SEP-2322): input_required with a request state, then the result
    server.registerTool("confirm", {}, async (ctx) =>
      ctx.mcpReq.requestState() === undefined
        ? inputRequired({ requestState: "round-1" })
        : { content: [{ type: "text", text: "done" }] },
    );
    const wait = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    server.registerTool("slow", {}, async (ctx) => {
      started++;
      return wait(ctx.mcpReq.signal);
    });
    // its progress first makes its answer an event stream, whose head the client then holds
    server.registerTool("slowStream", {}, async (ctx) => {
      started++;
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken !== undefined)
        await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress: 1 } });
      return wait(ctx.mcpReq.signal);
    });
  });
  cleanups.push(() => sdk.close());
  const proxy = await proxyFor(sdk.url, toml);
  cleanups.push(() => proxy.close());
  const client: Client = await modernClient(`${proxy.url}/mcp`);
  cleanups.push(() => client.close());
  const circuit = () => proxy.breakwater.circuits.get("u")?.breaker.metrics();
  return { sdk, proxy, client, circuit };
}

describe("answers of MCP 2026-07-28 through Breakwater (SPEC §8.1), SDK 2.x client and server", () => {
  it("passes an input_required result and its retry, each judged a success", async () => {
    const { client, circuit } = await fleet();
    const before = circuit()?.totalRequests ?? 0;
    const result = await client.callTool({ name: "confirm", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "done" }]);
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [before + 2, 0]);
  });

  it("gives a 2026-07-28 client whose tool circuit is open an isError result it accepts (resultType complete)", async () => {
    const { client, proxy } = await fleet();
    await client.listTools(); // the proxy learns the server's tools
    await client.callTool({ name: "echo", arguments: {} });
    const echo = proxy.breakwater.circuits.get("u", "echo");
    assert.ok(echo !== undefined, "echo has a tool circuit");
    echo.breaker.forceOpen();
    const result = await client.callTool({ name: "echo", arguments: {} });
    assert.equal(result.isError, true);
    assert.match(String((result.content as { text: string }[])[0]?.text), /temporarily unavailable/);
  });

  for (const tool of ["slow", "slowStream"]) {
    it(`aborts the upstream request at once when the client aborts its ${tool} call, and judges it neutral`, async () => {
      const { client, sdk, circuit } = await fleet();
      const before = circuit()?.totalRequests ?? 0;
      const calls = started;
      const controller = new AbortController();
      let progressed = 0;
      const call = client.callTool(
        { name: tool, arguments: {} },
        { signal: controller.signal, onprogress: () => void progressed++ },
      );
      await until(() => started === calls + 1, "the server has started the call");
      // the event stream's head (and its progress) reached the client before it aborts
      if (tool === "slowStream")
        await until(() => progressed === 1, "the call's progress reaches the client");
      controller.abort();
      await assert.rejects(call);
      await until(() => sdk.aborted.includes("tools/call"), "the server sees its request aborted");
      assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [before, 0], "neutral");
    });
  }

  it("forwards the tasks/get an SDK 2.x client transport sends (Mcp-Name mirrors params.taskId), not refused -32020", async () => {
    const { proxy, sdk } = await fleet();
    // the SDK 2.x client refuses tasks/get itself (the tasks extension is no core method of 2026-07-28),
    // so its HTTP transport sends it: the transport derives the headers from the body (Mcp-Name: taskId)
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`));
    await transport.start();
    cleanups.push(() => transport.close());
    // this server has no tasks extension: it answers 404 with -32601, which the transport throws
    const refusal = await transport
      .send({
        jsonrpc: "2.0",
        id: 9,
        method: "tasks/get",
        params: {
          taskId: "task-7",
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      })
      .then(
        () => "",
        (error: Error) => error.message,
      );
    assert.match(refusal, /-32601/, "the server's own answer, not the proxy's -32020");
    assert.equal(sdk.seen.at(-1), "tasks/get", "forwarded to the server");
    assert.equal(sdk.names.at(-1), "task-7", "with the Mcp-Name the SDK transport derived");
  });
});
