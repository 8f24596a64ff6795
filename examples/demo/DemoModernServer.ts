import { setTimeout as sleep } from "node:timers/promises";
import { type NodeIncomingMessageLike, toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, type McpHttpHandler, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { DemoListener, type DemoMode, parseJson } from "./DemoListener.ts";

/**
 * A small but real MCP server of the 2026-07-28 era (the official SDK 2.x, `createMcpHandler`): no
 * sessions, every request on its own; earlier-era clients are served statelessly, as the SDK does by
 * default. The same tools as the earlier-era demo servers (`echo`, `add`, `slow`, `whoami`, `lookup`)
 * and the same modes, to break it on purpose.
 */
export class DemoModernServer {
  readonly name: string;
  readonly #listener: DemoListener;
  readonly #handler: McpHttpHandler;
  #lookupBroken = false;

  constructor(name: string, port = 0, host = "127.0.0.1") {
    this.name = name;
    this.#handler = createMcpHandler(() => demoModernMcpServer(name, () => this.#lookupBroken));
    // the SDK's own node adapter; the listener has read the body already (to answer in the other modes)
    const serve = toNodeHandler(this.#handler);
    this.#listener = new DemoListener(
      name,
      (req, res, body) => serve(req as NodeIncomingMessageLike, res, parseJson(body)),
      port,
      host,
    );
  }

  get url(): string {
    return this.#listener.url;
  }

  get mode(): DemoMode {
    return this.#listener.mode;
  }

  get lookupBroken(): boolean {
    return this.#lookupBroken;
  }

  /** Breaks (or mends) the `lookup` tool alone. */
  breakLookup(broken: boolean): void {
    this.#lookupBroken = broken;
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  /** Switches behaviour. Going `down` closes the listener and every connection; leaving it listens again. */
  setMode(mode: DemoMode): Promise<void> {
    return this.#listener.setMode(mode);
  }

  async close(): Promise<void> {
    await this.#handler.close();
    await this.#listener.close();
  }
}

/** The demo's tools on an SDK 2.x server; `lookup` fails while `lookupBroken()` says so. */
export function demoModernMcpServer(name: string, lookupBroken: () => boolean): McpServer {
  const server = new McpServer({ name: `breakwater-demo-${name}`, version: "1.0.0" });
  const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });
  server.registerTool(
    "echo",
    {
      description: "Echoes the text back, naming the server that answered",
      inputSchema: { text: z.string() },
    },
    async ({ text: value }) => text(`${value} (from ${name})`),
  );
  server.registerTool(
    "add",
    { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => text(String(a + b)),
  );
  server.registerTool("whoami", { description: "The name of the server that answered" }, async () =>
    text(name),
  );
  server.registerTool(
    "lookup",
    { description: "Looks a key up in the server's database", inputSchema: { key: z.string() } },
    async ({ key }) => {
      // a thrown error becomes a tool execution error: `isError: true` in a 200 answer
      if (lookupBroken()) throw new Error(`${name}: lookup failed: database connection refused`);
      return text(`${key} = ${key.length} (from ${name})`);
    },
  );
  server.registerTool(
    "slow",
    {
      description: "Works for a while, reporting progress over SSE",
      inputSchema: { steps: z.number().int().min(1).max(50), delayMs: z.number().int().min(0).max(10_000) },
    },
    async ({ steps, delayMs }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        await sleep(delayMs);
        if (token !== undefined)
          await ctx.mcpReq.notify({
            method: "notifications/progress",
            params: {
              progressToken: token,
              progress: step,
              total: steps,
              message: `step ${step} of ${steps}`,
            },
          });
      }
      return text(`done ${steps} steps on ${name}`);
    },
  );
  return server;
}
