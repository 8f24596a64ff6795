/**
 * The demo's MCP server of the 2026-07-28 era on stdio (the "eta" upstream of examples/breakwater.toml's
 * math server): the official SDK 2.x's `serveStdio`, `modernStdioServer.ts <name> [kit]` with the tools
 * of that kit (demoTools.ts; default all). Breakwater learns its era by asking `server/discover` as a
 * process starts, and serves every client from a small pool of its processes.
 */
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { demoModernMcpServer } from "./DemoModernServer.ts";
import { isDemoKit } from "./demoTools.ts";

const name = process.argv[2] ?? "stdio";
const kit = isDemoKit(process.argv[3]) ? process.argv[3] : "all";
serveStdio(() => demoModernMcpServer(name, () => false, kit));
