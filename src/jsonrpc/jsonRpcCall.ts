import { type JsonRpcBody, type JsonRpcMessage, readJsonRpcMessages } from "./jsonRpc.ts";
import { modernClaim } from "./protocolEra.ts";

/** A JSON-RPC call (SPEC §3.1): what the proxy needs of it to judge its answer and guard its tool. */
export interface JsonRpcCall {
  /** The call's request ids, exactly as the client wrote them (JSON text: `1`, `"a"`). */
  readonly ids: readonly string[];
  /** The `params._meta.progressToken`s of its requests, as JSON text: their progress restarts the wait. */
  readonly progressTokens: ReadonlySet<string>;
  /** The tool a lone `tools/call` names (`params.name`); undefined for anything else, batches included. */
  readonly tool: string | undefined;
  /**
   * The tools named by every `tools/call` of the body, a batch's included (SPEC §3.2 guards each);
   * absent: none (a call the proxy makes itself).
   */
  readonly tools?: readonly string[];
  /**
   * A lone request that claims a revision of the modern era (2026-07-28) in its `_meta` (SPEC §8):
   * what the proxy answers it follows that revision; its stream is never resumed. Absent: earlier era.
   */
  readonly modern?: boolean;
}

/** What a POST body holds, for the proxy: a call, a message it need not judge, or no JSON-RPC at all. */
export type ReadBody =
  | {
      readonly kind: "call";
      readonly call: JsonRpcCall;
      readonly messages: readonly Message[];
      /** A JSON array, even of one message: its answer is an array too. */
      readonly batch: boolean;
    }
  | { readonly kind: "message"; readonly messages: readonly Message[]; readonly batch: boolean }
  | { readonly kind: "other" };

/** A message of the body as parsed. */
export type Message = JsonRpcMessage["value"] & {
  readonly params?: {
    readonly name?: unknown;
    readonly uri?: unknown;
    readonly _meta?: { progressToken?: unknown } & Readonly<Record<string, unknown>>;
  };
};

const other: ReadBody = { kind: "other" };
/** The progress tokens of a call that has none (most): one set for all. */
const noTokens: ReadonlySet<string> = new Set();
const noTools: readonly string[] = [];

/**
 * Reads a POST body once (see `readJsonRpcMessages`; `read`, its messages when they have been read
 * already): a request with an id (or a batch holding one) is a call; notifications and the responses
 * a client sends are messages. Bodies that are not JSON-RPC 2.0 are "other", judged as SPEC §2 says.
 */
export function readJsonRpcBody(body: Buffer, read: JsonRpcBody = readJsonRpcMessages(body)): ReadBody {
  if (read.kind === "other") return other;
  const messages = read.messages.map((m) => m.value as Message);
  const requests: JsonRpcMessage[] = [];
  let progressTokens = noTokens;
  let tools = noTools;
  for (const request of read.messages) {
    const message = request.value as Message;
    if (typeof message.method !== "string" || !request.hasId) continue;
    requests.push(request);
    const token = progressToken(message);
    if (token !== undefined) {
      if (progressTokens === noTokens) progressTokens = new Set();
      (progressTokens as Set<string>).add(token);
    }
    const name = message.params?.name;
    if (message.method === "tools/call" && typeof name === "string") {
      if (tools === noTools) tools = [];
      (tools as string[]).push(name);
    }
  }
  if (requests.length === 0) return { kind: "message", messages, batch: read.batch };
  // a batch's tools are not `tool`: one tool circuit guards one call (see McpCalls)
  const tool = read.batch ? undefined : tools[0];
  const modern = !read.batch && modernClaim(messages[0] as Message) !== undefined;
  const call = new BodyCall(requests, progressTokens, tool, tools, modern);
  return { kind: "call", call, messages, batch: read.batch };
}

/**
 * What `read` (a lone call) reads as once the one string the aggregate changes in its body (a name or
 * URI, SPEC §7.2) is changed: `message` is the message as the changed body parses, its ids, progress
 * tokens and era claim those of `read`. Spares a second `JSON.parse` of a body already read; the
 * caller answers for the changed bytes holding nothing else new (no `_meta` added, no claim changed).
 */
export function withMessage(read: Extract<ReadBody, { kind: "call" }>, message: Message): ReadBody {
  const name = message.params?.name;
  const tool = message.method === "tools/call" && typeof name === "string" ? name : undefined;
  const call = new ReadCall(read.call, tool, tool === undefined ? noTools : [tool]);
  return { kind: "call", call, messages: [message], batch: false };
}

/** A call as read before, naming another tool. */
class ReadCall implements JsonRpcCall {
  readonly tool: string | undefined;
  readonly tools: readonly string[];
  readonly #read: JsonRpcCall;

  constructor(read: JsonRpcCall, tool: string | undefined, tools: readonly string[]) {
    this.#read = read;
    this.tool = tool;
    this.tools = tools;
  }

  get ids(): readonly string[] {
    return this.#read.ids;
  }

  get progressTokens(): ReadonlySet<string> {
    return this.#read.progressTokens;
  }

  get modern(): boolean {
    return this.#read.modern === true;
  }
}

/** A call read from a body: its ids' texts are read out of the body when first asked for. */
class BodyCall implements JsonRpcCall {
  readonly progressTokens: ReadonlySet<string>;
  readonly tool: string | undefined;
  readonly tools: readonly string[];
  readonly modern: boolean;
  readonly #requests: readonly JsonRpcMessage[];
  #ids: readonly string[] | undefined;

  constructor(
    requests: readonly JsonRpcMessage[],
    progressTokens: ReadonlySet<string>,
    tool: string | undefined,
    tools: readonly string[],
    modern: boolean,
  ) {
    this.#requests = requests;
    this.modern = modern;
    this.progressTokens = progressTokens;
    this.tool = tool;
    this.tools = tools;
  }

  get ids(): readonly string[] {
    this.#ids ??= this.#requests.map((request) => request.id as string);
    return this.#ids;
  }
}

/** A request's `params._meta.progressToken`, as JSON text. */
function progressToken(message: Message): string | undefined {
  const token = message.params?._meta?.progressToken;
  return typeof token === "string" || typeof token === "number" ? JSON.stringify(token) : undefined;
}
