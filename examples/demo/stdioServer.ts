/**
 * The demo's MCP server on stdio (a process Breakwater runs per session: the "delta" upstream of
 * examples/breakwater.toml's notes server): `stdioServer.ts <name> [kit]`, the tools of that kit
 * (demoTools.ts; default all).
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { demoMcpServer } from "./DemoMcpServer.ts";
import { isDemoKit } from "./demoTools.ts";

const kit = isDemoKit(process.argv[3]) ? process.argv[3] : "all";
await demoMcpServer(process.argv[2] ?? "stdio", () => false, kit).connect(new StdioServerTransport());
