/** One message of a JSON-RPC request body: an object with `"jsonrpc": "2.0"` (JSON-RPC 2.0 §4). */
export interface JsonRpcMessage {
  /** The message as parsed. */
  readonly value: { readonly jsonrpc: "2.0"; readonly method?: unknown; readonly params?: unknown };
  /** Whether it has an `id` JSON-RPC allows: a string, a number or null. */
  readonly hasId: boolean;
  /**
   * The `id` exactly as the client wrote it (its JSON text: `"caf\u00e9"`, `12345678901234567890`,
   * `1.0`), when it is one JSON-RPC allows (a string, a number or null); undefined otherwise. Every
   * answer the proxy writes itself echoes this text, so that a client matching ids however it likes
   * finds its own. Read from the body when first asked for: the success path of a JSON answer never
   * needs it.
   */
  readonly id: string | undefined;
}

/** A request body read once, for everyone who needs it: a JSON-RPC message, a batch of them, or neither. */
export type JsonRpcBody =
  | { readonly kind: "messages"; readonly batch: boolean; readonly messages: readonly JsonRpcMessage[] }
  | { readonly kind: "other" };

/** What a request body says about JSON-RPC, for the proxy's own error answers. */
export type JsonRpcShape =
  | { readonly kind: "request"; readonly id: string }
  | { readonly kind: "batch"; readonly ids: readonly string[] }
  | { readonly kind: "notification" }
  | { readonly kind: "other" };

/**
 * One decoder for every body: lenient, as the MCP SDK's server decodes (`new TextDecoder()` in its
 * `readRequestBody`; body-parser and `Buffer#toString` too): an invalid byte becomes U+FFFD and a
 * leading byte order mark is dropped. The proxy must read a body as the server will — a stricter
 * reading let one invalid byte hide a `tools/call` (and its `params.name`) from the header check and
 * the tool's circuit while the server ran it.
 */
const utf8 = new TextDecoder();

/** Decodes a body as UTF-8 the way the MCP SDK's server does (invalid bytes as U+FFFD). */
export function decodeUtf8(body: Buffer): string {
  return utf8.decode(body);
}

const other: JsonRpcBody = { kind: "other" };

/**
 * Reads a request body once: its messages, each with its `id` as written. Anything that is not
 * JSON-RPC 2.0 — not JSON, a truncated body, an empty batch, an element that is no message — is
 * "other". Costs a `JSON.parse`; the ids' texts cost a scan of the body's top-level keys, made when an
 * id's text is first asked for.
 */
export function readJsonRpcMessages(body: Buffer): JsonRpcBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(body));
  } catch {
    return other;
  }
  const batch = Array.isArray(parsed);
  const values: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (values.length === 0 || !values.every(isMessage)) return other;
  const texts = new IdTexts(body, batch);
  const messages = values.map((value, i): JsonRpcMessage => new BodyMessage(value, texts, i));
  return { kind: "messages", batch, messages };
}

/** A message of a body, whose id's text is read out of the body only when asked for. */
class BodyMessage implements JsonRpcMessage {
  readonly value: JsonRpcMessage["value"];
  readonly hasId: boolean;
  readonly #texts: IdTexts;
  readonly #index: number;

  constructor(value: JsonRpcMessage["value"], texts: IdTexts, index: number) {
    this.value = value;
    // JSON.parse keeps the last of duplicate keys, as idTexts does: the value and the text agree
    const id = (value as { id?: unknown }).id;
    this.hasId =
      Object.hasOwn(value, "id") && (typeof id === "string" || typeof id === "number" || id === null);
    this.#texts = texts;
    this.#index = index;
  }

  get id(): string | undefined {
    return this.hasId ? this.#texts.at(this.#index) : undefined;
  }
}

/**
 * The ids' texts of a body's messages, read once when first needed. It keeps the body (which the
 * request holds anyway) rather than its decoded text, which could double what a large body costs.
 */
class IdTexts {
  readonly #body: Buffer;
  readonly #batch: boolean;
  #texts: (string | undefined)[] | undefined;

  constructor(body: Buffer, batch: boolean) {
    this.#body = body;
    this.#batch = batch;
  }

  at(index: number): string | undefined {
    this.#texts ??= idTexts(decodeUtf8(this.#body), this.#batch);
    return this.#texts[index];
  }
}

/**
 * Reads the JSON-RPC ids out of a request body, as the client wrote them. Only the proxy's own answers
 * (503, 502, 504, 404 for a lost session, 403) need this, so the success path never parses a body
 * here. A request is a message with a `method` and an id; a batch answers for its requests.
 */
export function jsonRpcShape(method: string, body: Buffer | undefined): JsonRpcShape {
  if (method !== "POST" || body === undefined || body.length === 0) return { kind: "other" };
  const read = readJsonRpcMessages(body);
  if (read.kind === "other" || !read.messages.every((m) => typeof m.value.method === "string"))
    return { kind: "other" };
  const ids = read.messages.flatMap((m) => (m.id === undefined ? [] : [m.id]));
  if (read.batch) return ids.length === 0 ? { kind: "notification" } : { kind: "batch", ids };
  const id = ids[0];
  return id === undefined ? { kind: "notification" } : { kind: "request", id };
}

function isMessage(value: unknown): value is JsonRpcMessage["value"] {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { jsonrpc?: unknown }).jsonrpc === "2.0"
  );
}

const quote = 0x22;
const backslash = 0x5c;

/**
 * The text of the `id` of each message (the last one, as `JSON.parse` keeps the last of duplicate
 * keys), in `text` that `JSON.parse` has accepted: the top-level keys of the message (of each element
 * of a batch) are read; every other value is stepped over, strings by a native search.
 */
function idTexts(text: string, batch: boolean): (string | undefined)[] {
  const ids: (string | undefined)[] = [];
  const keyDepth = batch ? 2 : 1;
  let depth = 0;
  let expectKey = false;
  let idNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      const end = closingQuote(text, i + 1);
      if (depth === keyDepth && expectKey) {
        expectKey = false;
        const name = text.slice(i, end + 1);
        idNext = name === '"id"' || (name.includes("\\") && JSON.parse(name) === "id");
      } else if (depth === keyDepth && idNext) {
        ids[ids.length - 1] = text.slice(i, end + 1);
        idNext = false;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === keyDepth) {
        ids.push(undefined);
        expectKey = true;
      }
      idNext = false;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === keyDepth) {
      expectKey = true;
      idNext = false;
    } else if (idNext && depth === keyDepth && c !== 0x3a && c > 0x20) {
      let end = i;
      while (end < text.length && !",}] \t\r\n".includes(text[end] as string)) end++;
      ids[ids.length - 1] = text.slice(i, end);
      idNext = false;
      i = end - 1;
    }
  }
  return ids;
}

/** The index of the quote closing a string whose body starts at `from` (the text is valid JSON). */
function closingQuote(text: string, from: number): number {
  let quoteAt = text.indexOf('"', from);
  for (;;) {
    let backslashes = 0;
    for (let j = quoteAt - 1; j >= from && text.charCodeAt(j) === backslash; j--) backslashes++;
    if ((backslashes & 1) === 0) return quoteAt;
    quoteAt = text.indexOf('"', quoteAt + 1);
  }
}
