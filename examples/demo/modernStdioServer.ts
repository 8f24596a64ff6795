/**
 * The demo's MCP server of the 2026-07-28 era on stdio (the "eta" upstream of
 * examples/breakwater-2026.toml): the official SDK 2.x's `serveStdio`, the same tools as the HTTP demo
 * servers. Breakwater learns its era by asking `server/discover` as a process starts, and serves every
 * client from a small pool of its processes.
 */
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { demoModernMcpServer } from "./DemoModernServer.ts";

const name = process.argv[2] ?? "stdio";
serveStdio(() => demoModernMcpServer(name, () => false));
