import { randomUUID } from "node:crypto";
import {
  acceptedContent,
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type CreateMcpHandlerOptions,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  type GetPromptResult,
  hostHeaderValidationResponse,
  type InputRequests,
  type InputRequiredResult,
  inputRequired,
  type JsonSchemaType,
  localhostAllowedHostnames,
  type McpHttpHandler,
  McpServer,
  ResourceTemplate,
  type ServerContext,
} from "@modelcontextprotocol/server";
import * as z from "zod/v4";
import { FetchServer } from "../support/FetchServer.ts";

/** A 1×1 red PNG and a 1-sample silent WAV: the smallest media the scenarios accept. */
const png =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const wav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const text = (value: string): CallToolResult => ({ content: [{ type: "text", text: value }] });
const noArguments = { description: "No arguments", inputSchema: z.object({}) };
const askName = {
  message: "What is your name?",
  requestedSchema: {
    type: "object" as const,
    properties: { name: { type: "string" as const } },
    required: ["name"],
  },
};
const askConfirm = {
  message: "Please confirm",
  requestedSchema: {
    type: "object" as const,
    properties: { ok: { type: "boolean" as const } },
    required: ["ok"],
  },
};

/** `x-mcp-header` is no JSON Schema keyword: the SDK's type does not know it, the wire keeps it. */
const mirroredRegion = {
  type: "object",
  properties: { region: { type: "string", "x-mcp-header": "Region" }, level: { type: "integer" } },
} as JsonSchemaType;

const jsonSchema2020 = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object" as const,
  $defs: {
    address: {
      $anchor: "addressDef",
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" } },
    },
  },
  properties: {
    name: { type: "string" },
    address: { $ref: "#/$defs/address" },
    contactMethod: { type: "string", enum: ["phone", "email"] },
    phone: { type: "string" },
    email: { type: "string" },
  },
  allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
  if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
  // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema 2020-12 keyword
  then: { required: ["phone"] },
  else: { required: ["email"] },
  additionalProperties: false,
};

/**
 * The project's MCP 2026-07-28 reference server for the official conformance suite (0.2.x,
 * `--requirements 2026-07-28`; a test fixture), written with the official SDK 2.x
 * (`@modelcontextprotocol/server`, `createMcpHandler`): what the suite's server scenarios ask for, modelled
 * on the SDK's own conformance server (typescript-sdk `test/conformance/src/everythingServer.ts`) —
 * the tools, resources and prompts of the earlier suite, the multi round-trip (`input_required`) tools,
 * the `server-stateless` diagnostic tools and the list-changed triggers for `subscriptions/listen`.
 * `legacy`: how it answers earlier-era traffic (`"reject"`: a modern-only server). DNS rebinding is
 * refused for any Host but localhost's.
 */
export class ReferenceServer2026 {
  readonly #handler: McpHttpHandler;
  readonly #server: FetchServer;
  /** requestState is client-held input: sealed when minted, verified before a handler sees it (SEP-2322). */
  readonly #state = createRequestStateCodec<Record<string, unknown>>({
    key: crypto.getRandomValues(new Uint8Array(32)),
  });

  constructor(options: { legacy?: CreateMcpHandlerOptions["legacy"] } = {}) {
    this.#handler = createMcpHandler(() => this.#mcpServer(), {
      legacy: options.legacy ?? "stateless",
      keepAliveMs: 0,
    });
    const allowed = localhostAllowedHostnames();
    this.#server = new FetchServer(
      async (request) => hostHeaderValidationResponse(request, allowed) ?? this.#handler.fetch(request),
    );
  }

  get url(): string {
    return this.#server.url;
  }

  async start(): Promise<void> {
    await this.#server.start();
  }

  async close(): Promise<void> {
    await this.#handler.close();
    await this.#server.close();
  }

  #mcpServer(): McpServer {
    const mcp = new McpServer(
      { name: "breakwater-reference-2026", version: "1.0.0" },
      {
        capabilities: {
          tools: { listChanged: true },
          resources: { listChanged: true },
          prompts: { listChanged: true },
          completions: {},
        },
        requestState: { verify: this.#state.verify },
      },
    );
    this.#contentTools(mcp);
    this.#statelessTools(mcp);
    this.#inputRequiredTools(mcp);
    this.#resources(mcp);
    this.#prompts(mcp);
    mcp.server.setRequestHandler("completion/complete", async () => ({
      completion: { values: [], total: 0, hasMore: false },
    }));
    return mcp;
  }

  #contentTools(mcp: McpServer): void {
    mcp.registerTool("test_simple_text", noArguments, async () =>
      text("This is a simple text response for testing."),
    );
    mcp.registerTool("test_image_content", noArguments, async () => ({
      content: [{ type: "image", data: png, mimeType: "image/png" }],
    }));
    mcp.registerTool("test_audio_content", noArguments, async () => ({
      content: [{ type: "audio", data: wav, mimeType: "audio/wav" }],
    }));
    mcp.registerTool("test_embedded_resource", noArguments, async () => ({
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
    mcp.registerTool("test_multiple_content_types", noArguments, async () => ({
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
    mcp.registerTool("test_error_handling", noArguments, async () => {
      throw new Error("This tool intentionally returns an error for testing");
    });
    mcp.registerTool("test_tool_with_progress", noArguments, async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      // no progress without a token the client chose
      if (progressToken !== undefined)
        for (const progress of [0, 50, 100])
          await ctx.mcpReq.notify({
            method: "notifications/progress",
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
      return text(String(progressToken ?? "no-progress-token"));
    });
  }

  /** The tools `server-stateless` looks for by name (SEP-2575 diagnostics), and the schema scenarios' (not scored). */
  #statelessTools(mcp: McpServer): void {
    // SEP-2243: an argument mirrored into an Mcp-Param-Region header, which the server checks against the body
    mcp.registerTool(
      "test_x_mcp_header",
      {
        description: "Mcp-Param-* validation",
        inputSchema: fromJsonSchema<{ region?: string; level?: number }>(mirroredRegion),
      },
      async (args) => text(`region=${args.region ?? "<none>"}`),
    );
    // SEP-1613 / SEP-2106: JSON Schema 2020-12 keywords advertised verbatim
    mcp.registerTool(
      "json_schema_2020_12_tool",
      { description: "JSON Schema 2020-12 features", inputSchema: fromJsonSchema(jsonSchema2020) },
      async (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
    );
    mcp.registerTool("test_missing_capability", noArguments, async (_args, ctx) => {
      if (ctx.mcpReq.inputResponses?.["llm_answer"] !== undefined)
        return text("sampling round-trip complete");
      return inputRequired({
        inputRequests: {
          llm_answer: inputRequired.createMessage({
            messages: [{ role: "user", content: { type: "text", text: "Reply with the single word: pong" } }],
            maxTokens: 16,
          }),
        },
      });
    });
    mcp.registerTool("test_streaming_elicitation", noArguments, async () =>
      text("stream observed: result frames only, no top-level requests"),
    );
    mcp.registerTool("test_logging_tool", noArguments, async (_args, ctx) => {
      await ctx.mcpReq.log("info", "delivered only when the request set _meta logLevel");
      return text("logged through the request-scoped channel");
    });
    mcp.registerTool("test_trigger_tool_change", noArguments, async () => {
      this.#handler.notify.toolsChanged();
      return text("tools_list_changed published");
    });
    mcp.registerTool("test_trigger_prompt_change", noArguments, async () => {
      this.#handler.notify.promptsChanged();
      return text("prompts_list_changed published");
    });
  }

  /** Multi round-trip tools (SEP-2322): `input_required` until the retry carries what they asked for. */
  #inputRequiredTools(mcp: McpServer): void {
    mcp.registerTool("test_input_required_result_elicitation", noArguments, async (_args, ctx) => {
      const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "user_name")?.name;
      if (typeof name === "string") return text(`Hello, ${name}!`);
      return inputRequired({ inputRequests: { user_name: inputRequired.elicit(askName) } });
    });
    mcp.registerTool("test_input_required_result_sampling", noArguments, async (_args, ctx) => {
      const answer = ctx.mcpReq.inputResponses?.["capital_question"] as
        | { content?: { text?: string } }
        | undefined;
      if (answer !== undefined)
        return text(`Sampling response: ${answer.content?.text ?? JSON.stringify(answer)}`);
      return inputRequired({
        inputRequests: {
          capital_question: inputRequired.createMessage({
            messages: [{ role: "user", content: { type: "text", text: "What is the capital of France?" } }],
            maxTokens: 100,
          }),
        },
      });
    });
    mcp.registerTool("test_input_required_result_list_roots", noArguments, async (_args, ctx) => {
      const roots = (
        ctx.mcpReq.inputResponses?.["client_roots"] as { roots?: { uri?: string }[] } | undefined
      )?.roots;
      if (Array.isArray(roots)) return text(`Client exposed ${roots.length} root(s)`);
      return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    });
    mcp.registerTool("test_input_required_result_request_state", noArguments, async (_args, ctx) => {
      if (acceptedContent(ctx.mcpReq.inputResponses, "confirm") !== undefined && ctx.mcpReq.requestState())
        return text("state-ok: requestState verified and confirmation received");
      return inputRequired({
        inputRequests: { confirm: inputRequired.elicit(askConfirm) },
        requestState: await this.#state.mint({ tool: "request_state", nonce: randomUUID() }),
      });
    });
    mcp.registerTool("test_input_required_result_multiple_inputs", noArguments, async (_args, ctx) => {
      const responses = ctx.mcpReq.inputResponses;
      const name = acceptedContent<{ name: string }>(responses, "user_name")?.name;
      const greeting = (responses?.["greeting"] as { content?: { text?: string } } | undefined)?.content
        ?.text;
      const roots = (responses?.["client_roots"] as { roots?: unknown[] } | undefined)?.roots;
      if (typeof name === "string" && typeof greeting === "string" && Array.isArray(roots))
        return text(`${greeting} ${name}: ${roots.length} root(s) visible`);
      return inputRequired({
        inputRequests: {
          user_name: inputRequired.elicit(askName),
          greeting: inputRequired.createMessage({
            messages: [{ role: "user", content: { type: "text", text: "Generate a greeting" } }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await this.#state.mint({ tool: "multiple_inputs", nonce: randomUUID() }),
      });
    });
    mcp.registerTool("test_input_required_result_multi_round", noArguments, async (_args, ctx) =>
      this.#multiRound(ctx),
    );
    mcp.registerTool("test_input_required_result_tampered_state", noArguments, async (_args, ctx) => {
      if (ctx.mcpReq.requestState() !== undefined && acceptedContent(ctx.mcpReq.inputResponses, "confirm"))
        return text("integrity-ok: requestState verified");
      return inputRequired({
        inputRequests: { confirm: inputRequired.elicit(askConfirm) },
        requestState: await this.#state.mint({ tool: "tampered_state", nonce: randomUUID() }),
      });
    });
    mcp.registerTool("test_input_required_result_capabilities", noArguments, async (_args, ctx) => {
      if (ctx.mcpReq.inputResponses !== undefined) return text("Capability-aware input requests fulfilled");
      // only kinds of input the request's declared client capabilities cover
      const envelope = ctx.mcpReq.envelope as Record<string, ClientCapabilities | undefined> | undefined;
      const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY];
      const inputRequests: InputRequests = {};
      if (declared?.elicitation !== undefined) inputRequests["user_name"] = inputRequired.elicit(askName);
      if (declared?.sampling !== undefined)
        inputRequests["greeting"] = inputRequired.createMessage({
          messages: [{ role: "user", content: { type: "text", text: "Generate a short greeting" } }],
          maxTokens: 50,
        });
      if (declared?.roots !== undefined) inputRequests["client_roots"] = inputRequired.listRoots();
      if (Object.keys(inputRequests).length === 0)
        return text("No declared capability allows an input request");
      return inputRequired({ inputRequests });
    });
  }

  /** Two elicitation rounds, the round kept in the sealed requestState (no state on the server). */
  async #multiRound(ctx: ServerContext): Promise<CallToolResult | InputRequiredResult> {
    const state = ctx.mcpReq.requestState<Record<string, unknown>>();
    const round =
      state?.["tool"] === "multi_round" && typeof state["round"] === "number" ? state["round"] : 0;
    if (round === 0)
      return inputRequired({
        inputRequests: { step1: inputRequired.elicit({ ...askName, message: "Step 1: What is your name?" }) },
        requestState: await this.#state.mint({ tool: "multi_round", round: 1, nonce: randomUUID() }),
      });
    if (round === 1) {
      const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "step1")?.name ?? "unknown";
      return inputRequired({
        inputRequests: {
          step2: inputRequired.elicit({
            message: "Step 2: What is your favorite color?",
            requestedSchema: {
              type: "object",
              properties: { color: { type: "string" } },
              required: ["color"],
            },
          }),
        },
        requestState: await this.#state.mint({ tool: "multi_round", round: 2, name, nonce: randomUUID() }),
      });
    }
    const color = acceptedContent<{ color: string }>(ctx.mcpReq.inputResponses, "step2")?.color ?? "unknown";
    return text(`Multi-round complete: ${String(state?.["name"] ?? "unknown")} likes ${color}`);
  }

  #resources(mcp: McpServer): void {
    mcp.registerResource(
      "static-text",
      "test://static-text",
      { title: "Static Text Resource", description: "A static text resource", mimeType: "text/plain" },
      async () => ({
        contents: [
          {
            uri: "test://static-text",
            mimeType: "text/plain",
            text: "This is the content of the static text resource.",
          },
        ],
      }),
    );
    mcp.registerResource(
      "static-binary",
      "test://static-binary",
      { title: "Static Binary Resource", description: "A static binary resource", mimeType: "image/png" },
      async () => ({ contents: [{ uri: "test://static-binary", mimeType: "image/png", blob: png }] }),
    );
    mcp.registerResource(
      "template",
      new ResourceTemplate("test://template/{id}/data", { list: undefined }),
      { title: "Resource Template", description: "Parameter substitution", mimeType: "application/json" },
      async (uri, variables) => ({
        contents: [
          {
            uri: uri.toString(),
            mimeType: "application/json",
            text: JSON.stringify({
              id: variables["id"],
              templateTest: true,
              data: `Data for ID: ${variables["id"]}`,
            }),
          },
        ],
      }),
    );
  }

  #prompts(mcp: McpServer): void {
    const user = (content: GetPromptResult["messages"][number]["content"]) => ({
      role: "user" as const,
      content,
    });
    mcp.registerPrompt(
      "test_simple_prompt",
      { description: "A simple prompt without arguments" },
      async () => ({
        messages: [user({ type: "text", text: "This is a simple prompt for testing." })],
      }),
    );
    mcp.registerPrompt(
      "test_prompt_with_arguments",
      {
        description: "A prompt with required arguments",
        argsSchema: z.object({ arg1: z.string(), arg2: z.string() }),
      },
      async (args) => ({
        messages: [
          user({ type: "text", text: `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'` }),
        ],
      }),
    );
    mcp.registerPrompt(
      "test_prompt_with_embedded_resource",
      {
        description: "A prompt with an embedded resource",
        argsSchema: z.object({ resourceUri: z.string() }),
      },
      async (args) => ({
        messages: [
          user({
            type: "resource",
            resource: {
              uri: args.resourceUri,
              mimeType: "text/plain",
              text: "Embedded resource content for testing.",
            },
          }),
          user({ type: "text", text: "Please process the embedded resource above." }),
        ],
      }),
    );
    mcp.registerPrompt("test_prompt_with_image", { description: "A prompt with an image" }, async () => ({
      messages: [
        user({ type: "image", data: png, mimeType: "image/png" }),
        user({ type: "text", text: "Please analyze the image above." }),
      ],
    }));
    // prompts/get may answer input_required too (SEP-2322): a prompt that needs context first
    mcp.registerPrompt(
      "test_input_required_result_prompt",
      { description: "A prompt that asks for context before rendering" },
      async (ctx) => {
        const context = acceptedContent<{ context: string }>(
          (ctx as ServerContext).mcpReq.inputResponses,
          "user_context",
        )?.context;
        if (typeof context === "string")
          return { messages: [user({ type: "text", text: `Use the following context: ${context}` })] };
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: "What context should the prompt use?",
              requestedSchema: {
                type: "object",
                properties: { context: { type: "string" } },
                required: ["context"],
              },
            }),
          },
        });
      },
    );
  }
}
