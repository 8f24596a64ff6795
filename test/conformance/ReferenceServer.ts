import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type EventStore,
  StreamableHTTPServerTransport,
} from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  type CallToolResult,
  type ElicitRequestFormParams,
  isInitializeRequest,
  type JSONRPCMessage,
  type RequestId,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** A 1×1 red PNG, and a 1-sample silent WAV: the smallest media the scenarios accept. */
const png =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const wav = Buffer.concat([
  Buffer.from("RIFF"),
  Buffer.from([38, 0, 0, 0]),
  Buffer.from("WAVEfmt "),
  Buffer.from([16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0]),
  Buffer.from("data"),
  Buffer.from([2, 0, 0, 0, 0, 0]),
]).toString("base64");

/** Events of SSE streams kept for replay, so that a client can resume a cut stream (SEP-1699). */
class MemoryEventStore implements EventStore {
  readonly #events: { id: string; stream: string; message: JSONRPCMessage }[] = [];

  async storeEvent(stream: string, message: JSONRPCMessage): Promise<string> {
    const id = `${stream}_${this.#events.length}`;
    this.#events.push({ id, stream, message });
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.find((e) => e.id === eventId)?.stream;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (id: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const at = this.#events.findIndex((e) => e.id === lastEventId);
    const stream = this.#events[at]?.stream ?? "";
    for (const event of this.#events.slice(at + 1))
      if (event.stream === stream) await send(event.id, event.message);
    return stream;
  }
}

const text = (value: string): CallToolResult => ({ content: [{ type: "text", text: value }] });

/**
 * The project's reference MCP server for the official conformance suite (a test fixture): what the
 * suite's server scenarios ask for, written from their descriptions with the official SDK. Sessions
 * are stateful (sampling and elicitation need a way back to the client), SSE streams resumable, and
 * DNS rebinding refused for any Host but localhost's.
 */
export class ReferenceServer {
  readonly #server: Server;
  readonly #sessions = new Map<string, StreamableHTTPServerTransport>();
  #port = 0;

  constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  /** The endpoint, by the name the suite needs for its DNS rebinding scenario. */
  get url(): string {
    return `http://localhost:${this.#port}/mcp`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const transport of this.#sessions.values()) await transport.close();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = req.method === "POST" ? await readJson(req) : undefined;
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? this.#sessions.get(sessionId) : undefined;
    if (existing !== undefined) return existing.handleRequest(req, res, body);
    if (typeof sessionId === "string" || !isInitializeRequest(body)) {
      res.writeHead(typeof sessionId === "string" ? 404 : 400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "No valid session" } }),
      );
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void this.#sessions.set(id, transport),
      eventStore: new MemoryEventStore(),
      retryInterval: 100,
      enableDnsRebindingProtection: true,
      allowedHosts: ["localhost", "127.0.0.1", `localhost:${this.#port}`, `127.0.0.1:${this.#port}`],
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#sessions.delete(transport.sessionId);
    };
    await this.#mcpServer(transport).connect(transport);
    await transport.handleRequest(req, res, body);
  }

  #mcpServer(transport: StreamableHTTPServerTransport): McpServer {
    const mcp = new McpServer(
      { name: "breakwater-reference", version: "1.0.0" },
      { capabilities: { logging: {}, completions: {}, resources: { subscribe: true } } },
    );
    const server = mcp.server;
    this.#tools(mcp, transport);
    this.#resources(mcp);
    this.#prompts(mcp);
    server.setRequestHandler(SetLevelRequestSchema, async () => ({}));
    const watched = new Set<string>();
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      watched.add(request.params.uri);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      watched.delete(request.params.uri);
      return {};
    });
    return mcp;
  }

  #tools(mcp: McpServer, transport: StreamableHTTPServerTransport): void {
    const none = { description: "No arguments", inputSchema: {} };
    // On the tool call's own stream: the standalone GET stream may not be open yet when the tool runs (the
    // client opens it beside its first request), and the SDK drops a request sent where no stream is.
    const elicit = (extra: { requestId: RequestId }, params: ElicitRequestFormParams) =>
      mcp.server.elicitInput(params, { relatedRequestId: extra.requestId });
    mcp.registerTool("test_simple_text", none, async () =>
      text("This is a simple text response for testing."),
    );
    mcp.registerTool("test_image_content", none, async () => ({
      content: [{ type: "image", data: png, mimeType: "image/png" }],
    }));
    mcp.registerTool("test_audio_content", none, async () => ({
      content: [{ type: "audio", data: wav, mimeType: "audio/wav" }],
    }));
    mcp.registerTool("test_embedded_resource", none, async () => ({
      content: [
        {
          type: "resource",
          resource: {
            uri: "test://embedded-resource",
            mimeType: "text/plain",
            text: "This is an embedded resource content.",
          },
        },
      ],
    }));
    mcp.registerTool("test_multiple_content_types", none, async () => ({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: png, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    }));
    mcp.registerTool("test_tool_with_logging", none, async (_args, extra) => {
      for (const [i, data] of [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
      ].entries()) {
        if (i > 0) await sleep(50);
        await extra.sendNotification({ method: "notifications/message", params: { level: "info", data } });
      }
      return text("Tool with logging executed successfully");
    });
    mcp.registerTool("test_error_handling", none, async () => {
      throw new Error("This tool intentionally returns an error for testing");
    });
    mcp.registerTool("test_tool_with_progress", none, async (_args, extra) => {
      const token = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50);
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress, total: 100 },
          });
        }
      }
      return text("Tool with progress executed successfully");
    });
    mcp.registerTool(
      "test_sampling",
      { description: "Asks the client's LLM", inputSchema: { prompt: z.string() } },
      async ({ prompt }, extra) => {
        const answer = await extra.sendRequest(
          {
            method: "sampling/createMessage",
            params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 100 },
          },
          z.object({ content: z.object({ type: z.string(), text: z.string().optional() }) }).passthrough(),
        );
        return text(`LLM response: ${answer.content.text ?? ""}`);
      },
    );
    mcp.registerTool(
      "test_elicitation",
      { description: "Asks the user", inputSchema: { message: z.string() } },
      async ({ message }, extra) => {
        const answer = await elicit(extra, {
          message,
          requestedSchema: {
            type: "object",
            properties: {
              username: { type: "string", description: "User's response" },
              email: { type: "string", description: "User's email address" },
            },
            required: ["username", "email"],
          },
        });
        return text(
          `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
        );
      },
    );
    mcp.registerTool("test_elicitation_sep1034_defaults", none, async (_args, extra) => {
      const answer = await elicit(extra, {
        message: "Please review the defaults",
        requestedSchema: {
          type: "object",
          properties: {
            name: { type: "string", default: "John Doe" },
            age: { type: "integer", default: 30 },
            score: { type: "number", default: 95.5 },
            status: { type: "string", enum: ["active", "inactive", "pending"], default: "active" },
            verified: { type: "boolean", default: true },
          },
        },
      });
      return text(
        `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
      );
    });
    mcp.registerTool("test_elicitation_sep1330_enums", none, async (_args, extra) => {
      const answer = await elicit(extra, {
        message: "Please choose",
        requestedSchema: {
          type: "object",
          properties: {
            untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
            titledSingle: {
              type: "string",
              oneOf: [
                { const: "value1", title: "First Option" },
                { const: "value2", title: "Second Option" },
                { const: "value3", title: "Third Option" },
              ],
            },
            legacyEnum: {
              type: "string",
              enum: ["opt1", "opt2", "opt3"],
              enumNames: ["Option One", "Option Two", "Option Three"],
            },
            untitledMulti: {
              type: "array",
              items: { type: "string", enum: ["option1", "option2", "option3"] },
            },
            titledMulti: {
              type: "array",
              items: {
                anyOf: [
                  { const: "value1", title: "First Choice" },
                  { const: "value2", title: "Second Choice" },
                  { const: "value3", title: "Third Choice" },
                ],
              },
            },
          },
        } as never,
      });
      return text(
        `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
      );
    });
    mcp.registerTool("test_reconnection", none, async (_args, extra) => {
      // cut the SSE stream mid-call; the client reconnects and gets the answer from the event store
      await sleep(50);
      transport.closeSSEStream(extra.requestId);
      await sleep(200);
      return text("Reconnection test completed");
    });
    // the JSON Schema 2020-12 keywords must reach the client as written (SEP-1613): a raw handler
    this.#jsonSchemaTool(mcp);
  }

  #jsonSchemaTool(mcp: McpServer): void {
    const tool = mcp.registerTool(
      "json_schema_2020_12_tool",
      { description: "Tool with JSON Schema 2020-12 features" },
      async () => text("ok"),
    );
    const inputSchema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: {
        address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } },
      },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false,
    };
    // the SDK lists a tool's schema from its zod shape; this one is given as JSON Schema itself
    Object.assign(tool, { inputSchema: undefined });
    const server = mcp.server as unknown as {
      _requestHandlers: Map<string, (...args: unknown[]) => Promise<unknown>>;
    };
    const list = server._requestHandlers.get("tools/list");
    if (list === undefined) return;
    server._requestHandlers.set("tools/list", async (...args: unknown[]) => {
      const listed = (await list(...args)) as { tools: { name: string; inputSchema: unknown }[] };
      for (const t of listed.tools) if (t.name === "json_schema_2020_12_tool") t.inputSchema = inputSchema;
      return listed;
    });
  }

  #resources(mcp: McpServer): void {
    mcp.registerResource(
      "static-text",
      "test://static-text",
      { description: "A static text resource", mimeType: "text/plain" },
      async (uri) => ({
        contents: [
          { uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." },
        ],
      }),
    );
    mcp.registerResource(
      "static-binary",
      "test://static-binary",
      { description: "A static binary resource", mimeType: "image/png" },
      async (uri) => ({ contents: [{ uri: uri.href, mimeType: "image/png", blob: png }] }),
    );
    mcp.registerResource(
      "watched-resource",
      "test://watched-resource",
      { description: "A resource to subscribe to", mimeType: "text/plain" },
      async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "watched" }] }),
    );
    mcp.registerResource(
      "template",
      new ResourceTemplate("test://template/{id}/data", { list: undefined }),
      { description: "A resource template", mimeType: "application/json" },
      async (uri, { id }) => ({
        contents: [
          {
            uri: uri.href,
            mimeType: "application/json",
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      }),
    );
  }

  #prompts(mcp: McpServer): void {
    mcp.registerPrompt("test_simple_prompt", { description: "A simple prompt" }, async () => ({
      messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
    }));
    mcp.registerPrompt(
      "test_prompt_with_arguments",
      {
        description: "A prompt with arguments",
        argsSchema: {
          // completion/complete answers from here (the completion-complete scenario)
          arg1: completable(z.string(), (value) =>
            ["paris", "park", "party"].filter((v) => v.startsWith(value)),
          ),
          arg2: z.string(),
        },
      },
      async ({ arg1, arg2 }) => ({
        messages: [
          {
            role: "user",
            content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
          },
        ],
      }),
    );
    mcp.registerPrompt(
      "test_prompt_with_embedded_resource",
      { description: "A prompt with an embedded resource", argsSchema: { resourceUri: z.string() } },
      async ({ resourceUri }) => ({
        messages: [
          {
            role: "user",
            content: {
              type: "resource",
              resource: {
                uri: resourceUri,
                mimeType: "text/plain",
                text: "Embedded resource content for testing.",
              },
            },
          },
          { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
        ],
      }),
    );
    mcp.registerPrompt("test_prompt_with_image", { description: "A prompt with an image" }, async () => ({
      messages: [
        { role: "user", content: { type: "image", data: png, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "Please analyze the image above." } },
      ],
    }));
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
