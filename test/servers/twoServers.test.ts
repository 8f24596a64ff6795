import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { serversToml, startProxy, type TestProxy } from "../support/proxy.ts";

const stdioServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The tools of each kind of server: the demo's SDK 1.x HTTP server and the test stdio server. */
const notesTools = ["add", "echo", "lookup", "slow", "whoami"];
const filesTools = ["ask", "big", "crash", "echo", "env", "hold", "later", "mute", "pid", "progress"];

/**
 * One Breakwater with two different servers, two replicas each: `notes` (2 × the demo's SDK 1.x HTTP
 * server, "alpha" and "beta") on /notes and `files` (2 × the SDK 1.x stdio test server) on /files, the
 * upstreams named by default (`notes-1`, `notes-2`, `files-1`, `files-2`). One failure opens a circuit.
 */
async function twoServers() {
  const notes = [new DemoMcpServer("alpha"), new DemoMcpServer("beta")];
  for (const server of notes) await server.start();
  const command = [process.execPath, stdioServer];
  let proxy: TestProxy | undefined;
  cleanups.push(async () => {
    await proxy?.close();
    for (const server of notes) await server.close();
  });
  proxy = await startProxy(
    "[proxy.circuit_breaker]\nfailure_threshold = 1\n" +
      serversToml([
        { name: "notes", route: "/notes", upstreams: notes.map((s) => ({ url: s.url })) },
        { name: "files", route: "/files", upstreams: [{ command }, { command }] },
      ]),
  );
  return { proxy, notes };
}

/** An SDK 1.x client, connected (initialized) through the proxy on `route`. */
async function connect(proxy: TestProxy, route: string) {
  const client = new Client({ name: "breakwater-servers-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}${route}`));
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

async function text(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, JSON.stringify(result));
  return (result.content as { text: string }[])[0]?.text ?? "";
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

interface Health {
  status: string;
  circuit_breakers: Record<string, { state: string }>;
  servers: Record<string, { status: string; upstreams: string[] }>;
}

async function health(proxy: TestProxy): Promise<Health> {
  return (await (await request(`${proxy.adminUrl}/health`)).body.json()) as Health;
}

/** A `tools/list` POST carrying session token `token` on `route`: its status and JSON-RPC error code. */
async function listWithToken(proxy: TestProxy, route: string, token: string) {
  const res = await request(`${proxy.url}${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
      "mcp-session-id": token,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
  });
  // a JSON answer, or an event stream whose message event holds it
  const text = await res.body.text();
  const json = text.startsWith("{")
    ? text
    : text
        .split("\n")
        .find((l) => l.startsWith("data: "))
        ?.slice(6);
  const body = JSON.parse(json ?? "{}") as { result?: unknown; error?: { code: number } };
  return { status: res.statusCode, code: body.error?.code, answered: body.result !== undefined };
}

describe("two servers on two routes, two replicas each (SPEC §7.1)", () => {
  it("serves each route its own server's tools to an SDK client, over HTTP and stdio replicas", async () => {
    const { proxy } = await twoServers();
    const notes = await connect(proxy, "/notes");
    const files = await connect(proxy, "/files");
    assert.deepEqual(await toolNames(notes.client), notesTools);
    assert.deepEqual(await toolNames(files.client), filesTools);
    assert.match(await text(notes.client, "whoami"), /^(alpha|beta)$/);
    assert.match(await text(files.client, "pid"), /^\d+$/);
    assert.equal(await text(files.client, "echo", { text: "hi" }), "hi", "the stdio server's echo");
    assert.equal(
      await text(notes.client, "echo", { text: "hi" }),
      `hi (from ${await text(notes.client, "whoami")})`,
    );
    const { servers } = await health(proxy);
    assert.deepEqual(servers, {
      notes: { status: "healthy", upstreams: ["notes-1", "notes-2"] },
      files: { status: "healthy", upstreams: ["files-1", "files-2"] },
    });
  });

  it("a session token from /notes sent on /files is an unknown session (404 -32001), and the other way round", async () => {
    const { proxy } = await twoServers();
    const notes = await connect(proxy, "/notes");
    const files = await connect(proxy, "/files");
    const notesToken = notes.transport.sessionId;
    const filesToken = files.transport.sessionId;
    assert.ok(notesToken !== undefined && filesToken !== undefined, "both routes gave a session");
    assert.deepEqual(await listWithToken(proxy, "/files", notesToken), {
      status: 404,
      code: -32001,
      answered: false,
    });
    assert.deepEqual(await listWithToken(proxy, "/notes", filesToken), {
      status: 404,
      code: -32001,
      answered: false,
    });
    // each token still serves its own route
    assert.deepEqual(await listWithToken(proxy, "/notes", notesToken), {
      status: 200,
      code: undefined,
      answered: true,
    });
    assert.deepEqual(await toolNames(files.client), filesTools);
  });

  it("when notes' first replica stops: its circuit opens, /notes calls go on on the second, files' circuits stay closed, /health says notes degraded and files healthy", async () => {
    const { proxy, notes } = await twoServers();
    const files = await connect(proxy, "/files");
    assert.match(await text(files.client, "pid"), /^\d+$/);
    await notes[0]?.setMode("down"); // notes-1

    // new clients: round robin sends some initialize to notes-1, whose refused connection fails over
    for (let i = 0; i < 4; i++) {
      const { client } = await connect(proxy, "/notes");
      assert.equal(await text(client, "whoami"), "beta", `client ${i} is served by notes-2`);
      assert.deepEqual(await toolNames(client), notesTools);
    }
    const report = await health(proxy);
    assert.deepEqual(
      Object.fromEntries(Object.entries(report.circuit_breakers).map(([name, c]) => [name, c.state])),
      { "notes-1": "open", "notes-2": "closed", "files-1": "closed", "files-2": "closed" },
    );
    assert.deepEqual(report.servers, {
      notes: { status: "degraded", upstreams: ["notes-1", "notes-2"] },
      files: { status: "healthy", upstreams: ["files-1", "files-2"] },
    });
    assert.equal(report.status, "degraded");

    // files is untouched: its session and new sessions go on
    assert.match(await text(files.client, "pid"), /^\d+$/);
    const again = await connect(proxy, "/files");
    assert.deepEqual(await toolNames(again.client), filesTools);
  });
});
