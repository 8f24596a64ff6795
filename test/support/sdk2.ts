import type { IncomingMessage } from "node:http";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  acceptedContent,
  type CreateMcpHandlerOptions,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  type McpHttpHandler,
  McpServer,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { FetchServer } from "./FetchServer.ts";
import { startProxy, type TestProxy, upstreamsToml } from "./proxy.ts";

/** The revision of MCP that SDK 2.x speaks when asked to (the first without sessions). */
export const modernRevision = "2026-07-28";

/** A request as it reached an SDK 2.x server: what a test checks passed through the proxy. */
export interface Sdk2Seen {
  readonly method: string;
  readonly headers: IncomingMessage["headers"];
}

export interface Sdk2HttpServer {
  readonly name: string;
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** Every HTTP request that reached it, in order. */
  readonly seen: Sdk2Seen[];
  /** Requests whose client (the proxy, or a direct client) went away before the response was finished. */
  readonly aborted: () => number;
  /** Publishes change events to open `subscriptions/listen` streams. */
  readonly handler: McpHttpHandler;
  close(): Promise<void>;
}

/** `forecast`'s input: `x-mcp-header` (SEP-2243) is an extension keyword JSON Schema's type lacks. */
const forecastSchema = {
  type: "object",
  properties: { region: { type: "string", "x-mcp-header": "Region" } },
  required: ["region"],
} as Parameters<typeof fromJsonSchema>[0];

/** A tool whose name is not ASCII: clients send its `Mcp-Name` base64-encoded (`=?base64?…?=`). */
export const nonAsciiTool = "grüße";

/**
 * The tools of the SDK 2.x reference server of these tests, for both eras: `echo`, `add`, `whoami`,
 * `slow` (progress notifications), `confirm` (asks the client by an `input_required` result with an
 * elicitation, completes on the retry that carries the answer), `forecast` (its `region` argument
 * mirrored in an `Mcp-Param-Region` header, declared by `x-mcp-header`) and a tool named
 * {@link nonAsciiTool}.
 */
export function sdk2McpServer(name: string): McpServer {
  const server = new McpServer({ name: `breakwater-sdk2-${name}`, version: "1.0.0" });
  const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });
  server.registerTool(
    "echo",
    { description: "Echoes the text back, naming the server", inputSchema: { text: z.string() } },
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
    "slow",
    {
      description: "Works in steps, reporting progress after each",
      inputSchema: { steps: z.number().int().min(1).max(50) },
    },
    async ({ steps }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        if (token !== undefined)
          await ctx.mcpReq.notify({
            method: "notifications/progress",
            params: { progressToken: token, progress: step, total: steps },
          });
      }
      return text(`done ${steps} steps on ${name}`);
    },
  );
  const confirmation = z.object({ confirm: z.boolean() });
  server.registerTool(
    "confirm",
    { description: "Asks the user to confirm before it acts", inputSchema: { action: z.string() } },
    async ({ action }, ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, "confirm", confirmation);
      if (answer === undefined)
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({ message: `${action}?`, requestedSchema: confirmation }),
          },
        });
      return text(answer.confirm ? `${action}: done` : `${action}: declined`);
    },
  );
  server.registerTool(
    "forecast",
    {
      description: "The weather of a region (the region is routed on: Mcp-Param-Region)",
      inputSchema: fromJsonSchema<{ region: string }>(forecastSchema),
    },
    async ({ region }) => text(`sunny in ${region}`),
  );
  // the SDK warns on every instance (one per request) about a name outside SEP-986's characters: this
  // tool exists to carry such a name, so its warning is kept out of the test output
  const warn = console.warn;
  console.warn = () => {};
  try {
    server.registerTool(nonAsciiTool, { description: "Greets in German" }, async () => text("hallo"));
  } finally {
    console.warn = warn;
  }
  return server;
}

/**
 * An SDK 2.x server (`createMcpHandler`: 2026-07-28 requests, and the earlier era served statelessly
 * unless `legacy: "reject"`) on node's http server, listening on 127.0.0.1 at a port of the system's
 * choosing, path `/mcp`. A client that goes away aborts the request it made (the cancellation of
 * 2026-07-28).
 */
export async function startSdk2Server(
  name: string,
  options: CreateMcpHandlerOptions = {},
): Promise<Sdk2HttpServer> {
  const handler = createMcpHandler(() => sdk2McpServer(name), { keepAliveMs: 0, ...options });
  const seen: Sdk2Seen[] = [];
  let aborted = 0;
  const server = new FetchServer((request) => handler.fetch(request), {
    onRequest(req, res) {
      seen.push({ method: req.method ?? "", headers: req.headers });
      res.on("close", () => {
        if (!res.writableFinished) aborted++;
      });
    },
  });
  await server.start();
  return {
    name,
    url: `http://127.0.0.1:${server.port}/mcp`,
    seen,
    aborted: () => aborted,
    handler,
    async close() {
      await handler.close();
      await server.close();
    },
  };
}

/** How an SDK 2.x client chooses its era: `auto` probes with `server/discover` and may fall back. */
export type Sdk2Negotiation = "auto" | "legacy" | { pin: string };

export interface Sdk2ClientOptions {
  /** What the client answers an elicitation with (default: accepts, confirming). */
  readonly elicit?: (message: string) => {
    action: "accept" | "decline";
    content?: Record<string, string | number | boolean | string[]>;
  };
}

/**
 * An SDK 2.x client connected over Streamable HTTP to `url`, negotiating as `mode` says, able to
 * answer elicitations (the `input_required` rounds of 2026-07-28 and the requests of the earlier era).
 */
export async function connectSdk2Client(
  url: string,
  mode: Sdk2Negotiation,
  options: Sdk2ClientOptions = {},
): Promise<Client> {
  const client = new Client(
    { name: "breakwater-sdk2-test", version: "1.0.0" },
    { versionNegotiation: { mode }, capabilities: { elicitation: { form: {} } } },
  );
  const elicit = options.elicit ?? (() => ({ action: "accept" as const, content: { confirm: true } }));
  client.setRequestHandler("elicitation/create", async (request) =>
    elicit(String((request.params as { message?: unknown }).message ?? "")),
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The first text of a tool result. */
export function firstText(result: { content?: unknown }): string {
  return ((result.content ?? []) as { text?: string }[])[0]?.text ?? "";
}

/** An SDK 2.x server with Breakwater in front of it (route `/mcp`, the upstream named as the server). */
export interface Sdk2Rig {
  readonly server: Sdk2HttpServer;
  readonly proxy: TestProxy;
  /** The server's own MCP endpoint. */
  readonly direct: string;
  /** The same endpoint through Breakwater. */
  readonly proxied: string;
  close(): Promise<void>;
}

/**
 * {@link startSdk2Server} and a test proxy in front of it; `toml` adds to the proxy's config (before
 * the `[[upstreams]]` list, so a `[proxy.*]` section is fine).
 */
export async function startSdk2Rig(
  name: string,
  options: CreateMcpHandlerOptions = {},
  toml = "",
): Promise<Sdk2Rig> {
  const server = await startSdk2Server(name, options);
  const proxy = await startProxy(
    `[server]\nroute = "/mcp"\n${toml}\n${upstreamsToml([{ name, url: server.url }])}`,
  ).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return {
    server,
    proxy,
    direct: server.url,
    proxied: `${proxy.url}/mcp`,
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}
