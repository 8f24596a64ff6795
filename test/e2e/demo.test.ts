import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  Client as Sdk2Client,
  StreamableHTTPClientTransport as Sdk2Transport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const demo = fileURLToPath(new URL("../../examples/demo/demo.ts", import.meta.url));

describe("the demo (npm start)", () => {
  it("serves three different MCP servers of both eras on their own routes, opens a circuit when a server of either era or one tool is broken on purpose while the other servers stay untouched, and stops cleanly on SIGINT", async () => {
    const child = spawn(
      process.execPath,
      [
        demo,
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--control-listen",
        "127.0.0.1:0",
        "--upstream-port-base",
        "0",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !output.includes("demo control"); i++) await sleep(50);
      const url = (label: string) => new RegExp(`${label}\\s+(http://\\S+)`).exec(output)?.[1] as string;
      const [mcp, health, control, modernMcp, clockMcp] = [
        url("notes"),
        url("\\bhealth"),
        url("demo control")?.replace(/\/$/, ""),
        url("math"),
        url("clock"),
      ];
      assert.ok(mcp && health && control && modernMcp && clockMcp, output);
      assert.match(mcp, /\/notes\/mcp$/);

      // each route is its own server: its own tools only
      const listed = async (route: string) => {
        const lister = new Client({ name: "demo-test-list", version: "1.0.0" });
        await lister.connect(new StreamableHTTPClientTransport(new URL(route)));
        const names = (await lister.listTools()).tools.map((t) => t.name).sort();
        await lister.close();
        return names;
      };
      assert.deepEqual(await listed(mcp), ["echo", "lookup", "whoami"]);
      assert.deepEqual(await listed(clockMcp), ["now", "whoami"]);

      const client = new Client({ name: "demo-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(mcp)));
      const echoed = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      assert.match((echoed.content as { text: string }[])[0]?.text ?? "", /^hi \(from (alpha|beta|delta)\)$/);
      await client.close();

      assert.equal((await fetch(`${control}/upstreams/beta/fail`, { method: "POST" })).status, 200);
      // Our own calls, bounded in count, open beta's circuit whatever the demo's random traffic does:
      // round robin sends at least every third one to beta, which now answers 500.
      const stateOf = async () => {
        const report = (await (await fetch(health)).json()) as {
          circuit_breakers: Record<string, { state: string }>;
        };
        return report.circuit_breakers["beta"]?.state ?? "";
      };
      let state = await stateOf();
      for (let i = 0; i < 60 && state !== "open"; i++) {
        const res = await fetch(mcp, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "ping" }),
        });
        await res.arrayBuffer();
        state = await stateOf();
      }
      assert.equal(state, "open", "beta's failures opened its circuit");
      assert.match(output, /"upstream":"beta","from":"closed","to":"open"/);
      const servers = (
        (await (await fetch(health)).json()) as { servers: Record<string, { status: string }> }
      ).servers;
      assert.equal(servers["notes"]?.status, "degraded", "notes lost one replica of three");
      assert.equal(servers["clock"]?.status, "healthy", "clock is another server: untouched");

      // the key that breaks one tool: alpha's lookup circuit opens, alpha itself stays closed
      assert.equal(
        (await fetch(`${control}/upstreams/alpha/tools/lookup/fail`, { method: "POST" })).status,
        200,
      );
      const report = async () =>
        (await (await fetch(health)).json()) as {
          circuit_breakers: Record<string, { state: string; tools: Record<string, { state: string }> }>;
        };
      let lookup = (await report()).circuit_breakers["alpha"]?.tools["lookup"]?.state;
      for (let i = 0; i < 60 && lookup !== "open"; i++) {
        // a tool circuit is made for a tool the upstream listed (SPEC §3.2): two lists a round, so that
        // round robin brings lists to every upstream and the call to each in turn
        for (const id of [1000 + 2 * i, 1001 + 2 * i]) {
          const list = await fetch(mcp, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
            body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list" }),
          });
          await list.arrayBuffer();
        }
        const res = await fetch(mcp, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: i,
            method: "tools/call",
            params: { name: "lookup", arguments: { key: "k" } },
          }),
        });
        await res.arrayBuffer();
        lookup = (await report()).circuit_breakers["alpha"]?.tools["lookup"]?.state;
      }
      assert.equal(lookup, "open", "alpha's broken lookup tool opened its own circuit");
      assert.equal(
        (await report()).circuit_breakers["alpha"]?.state,
        "closed",
        "alpha serves its other tools",
      );
      assert.match(output, /"upstream":"alpha","tool":"lookup","from":"closed","to":"open"/);

      // the modern servers: an SDK 2.x client pinned to 2026-07-28 is served through their proxy
      const modern = new Sdk2Client(
        { name: "demo-test-2026", version: "1.0.0" },
        { versionNegotiation: { mode: { pin: "2026-07-28" } } },
      );
      await modern.connect(new Sdk2Transport(new URL(modernMcp)));
      assert.equal(modern.getNegotiatedProtocolVersion(), "2026-07-28");
      const sum = await modern.callTool({ name: "add", arguments: { a: 2, b: 3 } });
      assert.equal((sum.content as { text: string }[])[0]?.text, "5");

      // the keys break a modern server too: epsilon's circuit opens, zeta and eta serve the modern clients
      assert.equal((await fetch(`${control}/upstreams/epsilon/fail`, { method: "POST" })).status, 200);
      const modernState = async () =>
        (
          (await (await fetch(health)).json()) as {
            circuit_breakers: Record<string, { state: string }>;
          }
        ).circuit_breakers["epsilon"]?.state;
      let epsilon = await modernState();
      for (let i = 0; i < 60 && epsilon !== "open"; i++) {
        await modern.callTool({ name: "whoami", arguments: {} }).catch(() => {}); // epsilon answers 500
        epsilon = await modernState();
      }
      assert.equal(epsilon, "open", "epsilon's failures opened its circuit");
      assert.match(output, /"upstream":"epsilon","from":"closed","to":"open"/);
      // zeta serves them, and eta (stdio) once Breakwater has learnt its era from its first process
      const servedBy = new Set<string>();
      for (let i = 0; i < 100 && !(servedBy.has("eta") && servedBy.has("zeta")); i++) {
        const served = await modern.callTool({ name: "whoami", arguments: {} });
        servedBy.add((served.content as { text: string }[])[0]?.text ?? "");
        if (!servedBy.has("eta")) await sleep(50); // the pool's first process is starting
      }
      assert.deepEqual([...servedBy].sort(), ["eta", "zeta"]);
      await modern.close();

      // the aggregate: every server's tools on one endpoint, prefixed with their server's name
      const aggregateUrl = url("aggregate");
      assert.match(aggregateUrl ?? "", /:\d+\/mcp$/, output);
      const aggregate = new Client({ name: "demo-test-aggregate", version: "1.0.0" });
      await aggregate.connect(new StreamableHTTPClientTransport(new URL(aggregateUrl)));
      const aggregateTools = async () => (await aggregate.listTools()).tools.map((t) => t.name);
      for (const name of ["notes__echo", "math__add", "clock__now"])
        assert.ok((await aggregateTools()).includes(name), name);
      // clock's only server goes down: its tools stay listed ("cached") for the grace time, and a call
      // to one of them gets a tool error the model can read, naming the server
      assert.equal((await fetch(`${control}/upstreams/gamma/down`, { method: "POST" })).status, 200);
      const clockListed = async () =>
        (
          (await (await fetch(health)).json()) as {
            aggregate?: { servers: Record<string, { listed: string }> };
          }
        ).aggregate?.servers["clock"]?.listed;
      let clock = await clockListed();
      for (let i = 0; i < 60 && clock !== "cached"; i++) {
        await aggregate.callTool({ name: "clock__now", arguments: {} }).catch(() => {}); // refused: ECONNREFUSED
        clock = await clockListed();
      }
      assert.equal(clock, "cached", "clock's tools kept during the grace");
      assert.ok((await aggregateTools()).includes("clock__now"));
      const turnedAway = await aggregate.callTool({ name: "clock__now", arguments: {} });
      assert.equal(turnedAway.isError, true);
      assert.equal(
        (turnedAway._meta?.["breakwater/circuit"] as { server?: string } | undefined)?.server,
        "clock",
      );
      const sum2 = await aggregate.callTool({ name: "math__add", arguments: { a: 1, b: 1 } });
      assert.equal((sum2.content as { text: string }[])[0]?.text, "2", "the other servers' tools work on");
      await aggregate.close();

      child.kill("SIGINT");
      assert.equal(await exited, 0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
