import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  Client as Sdk2Client,
  StreamableHTTPClientTransport as Sdk2Transport,
} from "@modelcontextprotocol/client";
import { Client as Sdk1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as Sdk1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { serversToml, startProxy, type TestProxy } from "../support/proxy.ts";
import { connectSdk2Client, firstText, type Sdk2HttpServer, startSdk2Server } from "../support/sdk2.ts";
import { until } from "../support/until.ts";
import { type Sdk1SessionServer, startSdk1SessionServer } from "./sdk1SessionServer.ts";

const stdioServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
const demoStdioServer = fileURLToPath(new URL("../../examples/demo/stdioServer.ts", import.meta.url));
const modernStdioServer = fileURLToPath(new URL("../support/modernStdioServer.ts", import.meta.url));

/**
 * One Breakwater, one aggregate on /mcp over five servers of both eras and both transports:
 * `notes` (the demo's SDK 1.x server twice: over HTTP, and over stdio — a replica that serves sessions
 * only), `desk` (an SDK 1.x HTTP server with sessions, restartable), `files` (the SDK 1.x stdio test server:
 * a process per session), `math` (an SDK 2.x HTTP server) and `pool` (the SDK 2.x stdio test server:
 * processes shared by 2026-07-28 clients). `grace_secs = 0`: a server whose circuit opens leaves the
 * lists at once.
 */
let notes: DemoMcpServer;
let desk: Sdk1SessionServer;
let math: Sdk2HttpServer;
let proxy: TestProxy;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  notes = new DemoMcpServer("alpha", 0, "127.0.0.1", "notes");
  await notes.start();
  desk = await startSdk1SessionServer("desk");
  math = await startSdk2Server("math");
  proxy = await startProxy(
    `[aggregate]\nroute = "/mcp"\ngrace_secs = 0\n` +
      serversToml([
        {
          name: "notes",
          upstreams: [{ url: notes.url }, { command: [process.execPath, demoStdioServer, "delta", "notes"] }],
        },
        { name: "desk", upstreams: [{ url: desk.url }] },
        { name: "files", upstreams: [{ command: [process.execPath, stdioServer] }] },
        { name: "math", route: "/math/mcp", upstreams: [{ url: math.url }] },
        {
          name: "pool",
          upstreams: [{ command: [process.execPath, modernStdioServer], extra: "max_processes = 2\n" }],
        },
      ]),
  );
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await proxy?.close();
  await math?.close();
  await notes?.close();
  await desk?.close();
});

const aggregateUrl = () => new URL(`${proxy.url}/mcp`);

async function modernClient(listChanged?: (names: string[]) => void): Promise<Sdk2Client> {
  const client = new Sdk2Client(
    { name: "aggregate-e2e-modern", version: "1.0.0" },
    {
      versionNegotiation: { mode: "auto" },
      ...(listChanged === undefined
        ? {}
        : {
            listChanged: {
              tools: {
                onChanged: (error: Error | null, tools: { name: string }[] | null) => {
                  if (error === null) listChanged((tools ?? []).map((t) => t.name));
                },
              },
            },
          }),
    },
  );
  await client.connect(new Sdk2Transport(aggregateUrl()));
  cleanups.push(() => client.close());
  return client;
}

async function earlierClient(transport = new Sdk1Transport(aggregateUrl())): Promise<Sdk1Client> {
  const client = new Sdk1Client(
    { name: "aggregate-e2e-earlier", version: "1.0.0" },
    { capabilities: { sampling: {} } },
  );
  // a server's sampling request, relayed by the aggregate: the answer names what was asked
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const asked = request.params.messages[0]?.content as { text?: string } | undefined;
    return {
      role: "assistant",
      model: "test-model",
      content: { type: "text", text: `sampled: ${asked?.text ?? "?"}` },
    };
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

/** Calls `name` and gives its first text, failing on a tool error. */
async function text(client: Sdk1Client | Sdk2Client, name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name}: ${JSON.stringify(result)}`);
  return firstText(result as { content?: unknown });
}

const serverOf = (name: string) => name.slice(0, name.indexOf("__"));

describe("the aggregate with real SDK clients and servers of both eras, over HTTP and stdio (SPEC §7.2)", () => {
  it("a 2026-07-28 client lists every server's tools prefixed, in config order, and calls a tool of each", async () => {
    const client = await modernClient();
    assert.equal(client.getServerVersion()?.name, "breakwater");
    const { tools, _meta } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.deepEqual([...new Set(names.map(serverOf))], ["notes", "desk", "files", "math", "pool"]);
    assert.ok(names.includes("notes__whoami") && names.includes("math__add") && names.includes("pool__pid"));
    // the SDK 2.x server's non-ASCII tool cannot be named so: left out and said so, not renamed
    assert.ok(!names.some((n) => n.startsWith("math__gr")), names.join());
    const servers = (_meta as Record<string, Record<string, { listed: string; left_out?: string[] }>>)[
      "breakwater/servers"
    ];
    assert.deepEqual(Object.fromEntries(Object.entries(servers ?? {}).map(([name, s]) => [name, s.listed])), {
      notes: "current",
      desk: "current",
      files: "current",
      math: "current",
      pool: "current",
    });
    assert.deepEqual(servers?.["math"]?.left_out, ["grüße"]);
    // the notes replicas: one over HTTP, one over stdio serving sessions only (each call may go to either)
    for (let i = 0; i < 4; i++) assert.match(await text(client, "notes__whoami"), /^(alpha|delta)$/);
    assert.match(await text(client, "desk__whoami"), /"server":"desk"/);
    assert.equal(await text(client, "files__echo", { text: "via stdio" }), "via stdio");
    assert.equal(await text(client, "math__echo", { text: "hi" }), "hi (from math)");
    assert.equal(await text(client, "pool__echo", { text: "pooled" }), "pooled");
    const unknown = await client.callTool({ name: "nobody__echo", arguments: {} }).catch((e: unknown) => e);
    assert.match(String(unknown), /-32602|unknown/i);
  });

  it("an SDK 1.x client (2025-11-25, sessions) initializes with Breakwater and calls a tool of each server in one session", async () => {
    const client = await earlierClient();
    assert.equal(client.getServerVersion()?.name, "breakwater");
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual([...new Set(names.map(serverOf))], ["notes", "desk", "files", "math", "pool"]);
    // the desk server sees this client's own name and capabilities in the session Breakwater opened
    assert.match(await text(client, "desk__whoami"), /"client":"aggregate-e2e-earlier"/);
    assert.match(await text(client, "notes__whoami"), /^(alpha|delta)$/);
    assert.equal(await text(client, "files__echo", { text: "old" }), "old");
    assert.equal(await text(client, "math__echo", { text: "old" }), "old (from math)");
    assert.equal(await text(client, "pool__echo", { text: "old pool" }), "old pool");
  });

  it("a 2026-07-28 client's input_required round passes through the aggregate and its retry reaches the same server", async () => {
    const asked: string[] = [];
    const client = await connectSdk2Client(`${proxy.url}/mcp`, "auto", {
      elicit: (message) => {
        asked.push(message);
        return { action: "accept", content: { confirm: true } };
      },
    });
    cleanups.push(() => client.close());
    assert.equal(await text(client, "math__confirm", { action: "deploy" }), "deploy: done");
    assert.deepEqual(asked, ["deploy?"]);
  });

  it("a server's sampling request reaches an earlier-era client through the aggregate and its answer goes back; a 2026-07-28 client's call of the same tool ends without hanging", async () => {
    const earlier = await earlierClient();
    assert.equal(await text(earlier, "files__ask", { question: "ready?" }), "sampled: ready?");
    const modern = await modernClient();
    // the server's request is answered -32601 by Breakwater (that client cannot receive it): the tool fails
    const answer = await modern
      .callTool({ name: "files__ask", arguments: { question: "ready?" } })
      .then((result) => (result.isError === true ? "tool error" : "answered"))
      .catch(() => "error");
    assert.notEqual(answer, "answered");
  });

  it("an earlier-era client's session survives a restart of its upstream: the next call goes once to a new session", async () => {
    const transport = new Sdk1Transport(aggregateUrl());
    const client = await earlierClient(transport);
    assert.match(await text(client, "desk__whoami"), /"client":"aggregate-e2e-earlier"/);
    await desk.restart();
    assert.equal(desk.sessions(), 0);
    assert.match(await text(client, "desk__whoami"), /"client":"aggregate-e2e-earlier"/);
    assert.equal(desk.sessions(), 1, "one new session, opened once");
    // the client ends its session: Breakwater ends the one it opened for it upstream
    await transport.terminateSession();
    await until(() => desk.sessions() === 0, "the upstream session ended with the client's");
  });

  it("a 2026-07-28 client hears one tools/list_changed when a server's circuit opens and one when it closes, and the list follows", async () => {
    const heard: string[][] = [];
    const client = await modernClient((names) => heard.push(names));
    await client.listTools();
    const control = (action: string) =>
      request(`${proxy.adminUrl}/circuits/math-1/${action}`, { method: "POST" });
    await (await control("open")).body.dump();
    await until(() => heard.length === 1, "the notification of math's tools leaving");
    assert.ok(!heard[0]?.some((n) => n.startsWith("math__")), heard[0]?.join());
    assert.ok(heard[0]?.includes("notes__whoami"));
    const refused = await client.callTool({ name: "math__echo", arguments: { text: "x" } });
    assert.equal(refused.isError, true);
    assert.notEqual(refused._meta?.["breakwater/circuit"], undefined);
    await (await control("reset")).body.dump();
    await until(() => heard.length === 2, "the notification of math's tools coming back");
    assert.ok(heard[1]?.includes("math__echo"), heard[1]?.join());
    assert.equal(await text(client, "math__echo", { text: "back" }), "back (from math)");
  });
});
