import { type NodeIncomingMessageLike, toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, type McpHttpHandler, McpServer } from "@modelcontextprotocol/server";
import { DemoListener, type DemoMode, parseJson } from "./DemoListener.ts";
import { type DemoKit, demoTools, textResult } from "./demoTools.ts";

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

  constructor(name: string, port = 0, host = "127.0.0.1", kit: DemoKit = "all") {
    this.name = name;
    this.#handler = createMcpHandler(() => demoModernMcpServer(name, () => this.#lookupBroken, kit));
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

/** The demo's tools (demoTools.ts) on an SDK 2.x server; `lookup` fails while `lookupBroken()` says so. */
export function demoModernMcpServer(
  name: string,
  lookupBroken: () => boolean,
  kit: DemoKit = "all",
): McpServer {
  const server = new McpServer({ name: `breakwater-demo-${name}`, version: "1.0.0" });
  for (const tool of demoTools(name, lookupBroken, kit)) {
    const { description, inputSchema } = tool;
    server.registerTool(tool.name, { description, inputSchema }, async (args, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      const progress = async (progress: number, total: number, message: string) => {
        if (token === undefined) return;
        const params = { progressToken: token, progress, total, message };
        await ctx.mcpReq.notify({ method: "notifications/progress", params });
      };
      return textResult(await tool.run(args as Record<string, unknown>, progress));
    });
  }
  return server;
}
