import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { cleanup, reloadable } from "../reload/reloadRig.ts";
import { serversToml } from "../support/proxy.ts";
import { type Sdk2HttpServer, startSdk2Server } from "../support/sdk2.ts";
import { until } from "../support/until.ts";

after(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A modern `tools/list` POST to `url`: its status and, when answered, the tool names. */
async function listAt(url: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/list",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { result?: { tools: { name: string }[] } };
  return { status: res.status, names: body.result?.tools.map((t) => t.name) };
}

test("a reload adds the aggregate, changes its servers (a standing client hears the change), and removes it", async (t) => {
  const [one, two]: Sdk2HttpServer[] = [await startSdk2Server("one"), await startSdk2Server("two")];
  t.after(() => Promise.all([one?.close(), two?.close()]));
  const plain = serversToml([
    { name: "one", route: "/one/mcp", upstreams: [{ url: (one as Sdk2HttpServer).url }] },
    { name: "two", route: "/two/mcp", upstreams: [{ url: (two as Sdk2HttpServer).url }] },
  ]);
  const rig = await reloadable(plain);
  assert.equal((await listAt(`${rig.url}/mcp`)).status, 404, "no aggregate yet");

  rig.reloadWith(`[aggregate]\nroute = "/mcp"\nservers = ["one"]\n${plain}`);
  const first = await listAt(`${rig.url}/mcp`);
  assert.ok(
    first.names?.includes("one__echo") && !first.names.some((n) => n.startsWith("two__")),
    first.names?.join(),
  );

  // a client listening on the aggregate hears the servers a reload adds
  let heard = 0;
  const client = new Client(
    { name: "reload-listener", version: "1.0.0" },
    { versionNegotiation: { mode: "auto" }, listChanged: { tools: { onChanged: () => heard++ } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(`${rig.url}/mcp`)));
  t.after(() => client.close());
  await client.listTools();
  rig.reloadWith(`[aggregate]\nroute = "/mcp"\n${plain}`);
  await until(() => heard >= 1, "the list_changed of the reload");
  assert.ok((await listAt(`${rig.url}/mcp`)).names?.includes("two__echo"));

  rig.reloadWith(plain);
  assert.equal((await listAt(`${rig.url}/mcp`)).status, 404, "the aggregate removed");
  assert.notEqual((await listAt(`${rig.url}/one/mcp`)).status, 404, "the routes stay");
});
