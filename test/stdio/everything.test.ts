import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { startProxy, type TestProxy } from "../support/proxy.ts";

/** The reference server of the MCP project, on stdio, behind Breakwater. */
const everything = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url),
);
let proxy: TestProxy | undefined;
const clients: Client[] = [];
after(async () => {
  for (const client of clients) await client.close();
  await proxy?.close();
});

const textOf = (result: unknown) =>
  ((result as { content?: { type: string; text?: string }[] }).content ?? [])
    .map((c) => c.text ?? "")
    .join("\n");

describe("the MCP project's 'everything' server on stdio, through Breakwater", () => {
  it("carries progress, elicitation and roots requests both ways", async () => {
    proxy = await startProxy(
      `[[upstreams]]\nname = "everything"\ncommand = ${JSON.stringify([process.execPath, everything, "stdio"])}\n`,
    );
    const client = new Client(
      { name: "breakwater-everything-test", version: "1.0.0" },
      { capabilities: { elicitation: {}, roots: { listChanged: true } } },
    );
    const elicited: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request.params.message);
      return { action: "accept", content: { name: "Ada Lovelace", check: true } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: "file:///srv/breakwater", name: "breakwater" }],
    }));
    await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url)));
    clients.push(client);

    const steps: number[] = [];
    await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (p) => steps.push(p.progress) },
    );
    assert.deepEqual(steps, [1, 2, 3]);

    const elicitation = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
    assert.equal(elicited.length, 1);
    assert.match(textOf(elicitation), /Ada Lovelace/);

    const roots = await client.callTool({ name: "get-roots-list", arguments: {} });
    assert.match(textOf(roots), /file:\/\/\/srv\/breakwater/);
  });
});
