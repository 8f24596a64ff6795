/**
 * The demo's MCP server on stdio (a process Breakwater runs per session: the "delta" upstream of
 * examples/breakwater.toml): the same tools as the HTTP demo servers.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { demoMcpServer } from "./DemoMcpServer.ts";

await demoMcpServer(process.argv[2] ?? "stdio", () => false).connect(new StdioServerTransport());
