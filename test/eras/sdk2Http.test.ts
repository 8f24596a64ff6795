import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/client";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import {
  connectSdk2Client,
  firstText,
  modernRevision,
  nonAsciiTool,
  type Sdk2Negotiation,
  type Sdk2Rig,
  startSdk2Rig,
} from "../support/sdk2.ts";

/**
 * SPEC §8.4: fronting an SDK 2.x server over a `url` upstream, an SDK 2.x client behaves as it does
 * directly. Every scenario runs twice, against the server itself and through Breakwater, and the two
 * runs must agree; through Breakwater, the upstream's circuit records no failure.
 */

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Breakwater on route /mcp in front of one upstream, `name`, at `url`. */
async function proxyFor(name: string, url: string): Promise<TestProxy> {
  const proxy = await startProxy(`[server]\nroute = "/mcp"\n${upstreamsToml([{ name, url }])}`);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** An SDK 2.x server (2026-07-28 and, statelessly, the earlier era) with Breakwater in front of it. */
async function modernRig(legacy: "stateless" | "reject" = "stateless"): Promise<Sdk2Rig> {
  const rig = await startSdk2Rig("alpha", { legacy });
  cleanups.push(() => rig.close());
  return rig;
}

async function connect(url: string, mode: Sdk2Negotiation): Promise<Client> {
  const client = await connectSdk2Client(url, mode);
  cleanups.push(() => client.close());
  return client;
}

/** The upstream's breaker as `/circuits` reports it. */
async function circuitOf(proxy: TestProxy, name: string) {
  const report = (await (await fetch(`${proxy.adminUrl}/circuits`)).json()) as {
    circuit_breakers: Record<string, { state: string; total_requests: number; failed_requests: number }>;
  };
  return report.circuit_breakers[name];
}

/** `breakwater_upstream_requests_total` of one upstream and outcome. */
async function requestsCounted(proxy: TestProxy, name: string, outcome: string): Promise<number> {
  const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const line = new RegExp(
    `breakwater_upstream_requests_total\\{upstream="${name}",outcome="${outcome}"\\} (\\d+)`,
  );
  return Number(line.exec(metrics)?.[1] ?? 0);
}

const pinned = { pin: modernRevision };

describe("SDK 2.x client and server (2026-07-28) through Breakwater over HTTP, as directly", () => {
  it("a pinned client lists and calls tools through Breakwater as directly, and every call is a success for the circuit", async () => {
    const { proxy, direct, proxied } = await modernRig();
    const run = async (url: string) => {
      const client = await connect(url, pinned);
      const tools = await client.listTools();
      const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
      const echoed = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      return {
        version: client.getNegotiatedProtocolVersion(),
        tools: tools.tools.map((t) => t.name),
        results: [firstText(sum), firstText(echoed)],
      };
    };
    const directly = await run(direct);
    assert.equal(directly.version, modernRevision);
    assert.deepEqual(await run(proxied), directly);
    const circuit = await circuitOf(proxy, "alpha");
    assert.equal(circuit?.failed_requests, 0);
    assert.ok((await requestsCounted(proxy, "alpha", "success")) >= 4, "discover, list and two calls");
  });

  it("a client in auto mode negotiates 2026-07-28 with an SDK 2.x server through Breakwater as directly", async () => {
    const { proxy, direct, proxied } = await modernRig();
    const run = async (url: string) => {
      const client = await connect(url, "auto");
      const sum = await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
      return { version: client.getNegotiatedProtocolVersion(), sum: firstText(sum) };
    };
    const directly = await run(direct);
    assert.deepEqual(directly, { version: modernRevision, sum: "3" });
    assert.deepEqual(await run(proxied), directly);
    assert.equal((await circuitOf(proxy, "alpha"))?.failed_requests, 0);
  });

  it("progress notifications of a tool call reach the client through Breakwater as directly", async () => {
    const { proxy, direct, proxied } = await modernRig();
    const run = async (url: string) => {
      const client = await connect(url, pinned);
      const progress: number[] = [];
      const result = await client.callTool(
        { name: "slow", arguments: { steps: 5 } },
        {
          onprogress: (p) => progress.push(p.progress),
        },
      );
      return { progress, result: firstText(result) };
    };
    const directly = await run(direct);
    assert.deepEqual(directly, { progress: [1, 2, 3, 4, 5], result: "done 5 steps on alpha" });
    assert.deepEqual(await run(proxied), directly);
    assert.equal((await circuitOf(proxy, "alpha"))?.failed_requests, 0);
  });

  it("an input_required answer with an elicitation is answered by the client's handler, and the retry carrying the answer reaches the server and completes, through Breakwater as directly", async () => {
    const { server, proxy, direct, proxied } = await modernRig();
    const run = async (url: string) => {
      const asked: string[] = [];
      const client = await connectSdk2Client(url, pinned, {
        elicit: (message) => {
          asked.push(message);
          return { action: "accept", content: { confirm: true } };
        },
      });
      cleanups.push(() => client.close());
      const before = server.seen.length;
      const result = await client.callTool({ name: "confirm", arguments: { action: "deploy" } });
      const rounds = server.seen.slice(before).filter((s) => s.headers["mcp-name"] === "confirm").length;
      return { asked, rounds, result: firstText(result) };
    };
    const directly = await run(direct);
    assert.deepEqual(directly, { asked: ["deploy?"], rounds: 2, result: "deploy: done" });
    assert.deepEqual(await run(proxied), directly);
    const circuit = await circuitOf(proxy, "alpha");
    assert.equal(circuit?.failed_requests, 0, "an input_required answer is an answer, not a failure");
  });

  it("an Mcp-Param-* header declared by x-mcp-header reaches the server through Breakwater as directly", async () => {
    const { server, direct, proxied } = await modernRig();
    const run = async (url: string) => {
      const client = await connect(url, pinned);
      await client.listTools(); // the client learns the tool's x-mcp-header from the list
      const before = server.seen.length;
      const result = await client.callTool({ name: "forecast", arguments: { region: "eu-west" } });
      const call = server.seen.slice(before).find((s) => s.headers["mcp-name"] === "forecast");
      return { header: call?.headers["mcp-param-region"], result: firstText(result) };
    };
    const directly = await run(direct);
    assert.deepEqual(directly, { header: "eu-west", result: "sunny in eu-west" });
    assert.deepEqual(await run(proxied), directly);
  });

  it("a base64-encoded Mcp-Name (a tool name that is not ASCII) reaches the server through Breakwater as directly", async () => {
    const { server, proxy, direct, proxied } = await modernRig();
    const encoded = `=?base64?${Buffer.from(nonAsciiTool, "utf8").toString("base64")}?=`;
    const run = async (url: string) => {
      const client = await connect(url, pinned);
      const before = server.seen.length;
      const result = await client.callTool({ name: nonAsciiTool, arguments: {} });
      const call = server.seen.slice(before).find((s) => s.headers["mcp-method"] === "tools/call");
      return { name: call?.headers["mcp-name"], result: firstText(result) };
    };
    const directly = await run(direct);
    assert.deepEqual(directly, { name: encoded, result: "hallo" });
    assert.deepEqual(await run(proxied), directly);
    assert.equal((await circuitOf(proxy, "alpha"))?.failed_requests, 0);
  });

  it("an UnsupportedProtocolVersion error (-32022) reaches the client through Breakwater as directly and is neutral for the circuit", async () => {
    // a modern-only server answers an earlier-era client's initialize with 400 and -32022
    const { proxy, direct, proxied } = await modernRig("reject");
    const refusal = async (url: string) => {
      const failed = await connectSdk2Client(url, "legacy").then(
        () => undefined,
        (error: unknown) => String(error),
      );
      return failed?.match(/-32022|Unsupported protocol version/i)?.[0];
    };
    const directly = await refusal(direct);
    assert.ok(directly !== undefined, "the server refuses the earlier era with -32022");
    for (let i = 0; i < 3; i++) assert.equal(await refusal(proxied), directly);
    const circuit = await circuitOf(proxy, "alpha");
    assert.deepEqual(
      [circuit?.state, circuit?.failed_requests, await requestsCounted(proxy, "alpha", "failure")],
      ["closed", 0, 0],
    );
    assert.ok((await requestsCounted(proxy, "alpha", "neutral")) >= 3, "each refusal counted neutral");
  });

  it("a client in auto mode falls back to the earlier era with an SDK 1.x server through Breakwater as directly", async () => {
    const legacy = new DemoMcpServer("old");
    await legacy.start();
    cleanups.push(() => legacy.close());
    const proxy = await proxyFor("old", legacy.url);
    const run = async (url: string) => {
      const client = await connect(url, "auto");
      const who = await client.callTool({ name: "whoami", arguments: {} });
      return { version: client.getNegotiatedProtocolVersion(), who: firstText(who) };
    };
    const directly = await run(legacy.url);
    assert.notEqual(directly.version, modernRevision);
    assert.equal(directly.who, "old");
    assert.deepEqual(await run(`${proxy.url}/mcp`), directly);
    assert.equal((await circuitOf(proxy, "old"))?.failed_requests, 0);
  });
});
