import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type {
  Hop,
  PoolAnswer,
  PoolClient,
  PoolRequestOptions,
  UpstreamEra,
} from "../../src/aggregate/contracts.ts";
import { discoverEra, modernRevision } from "../../src/health/discoverEra.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

/** What one of Breakwater's own requests was, as the stand-in sent it. */
export interface Sent {
  readonly upstream: string;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A small stand-in for the aggregate's PoolClient (helper B writes the real one): JSON-RPC over HTTP
 * POST to each upstream's URL, the upstream's circuit asked for a permit (refused when it does not
 * admit), SSE answers read to their response, `server/discover` asked once per upstream for its era
 * ("dual" when a modern answer lists an earlier revision too).
 */
export class StandInPoolClient implements PoolClient {
  readonly sent: Sent[] = [];
  readonly #urls: ReadonlyMap<Upstream, string>;
  readonly #eras = new Map<Upstream, UpstreamEra | undefined>();

  constructor(urls: ReadonlyMap<Upstream, string>, eras: ReadonlyMap<Upstream, UpstreamEra> = new Map()) {
    this.#urls = urls;
    for (const [upstream, era] of eras) this.#eras.set(upstream, era);
  }

  /** Requests of `method` sent, in order. */
  of(method: string): Sent[] {
    return this.sent.filter((sent) => sent.method === method);
  }

  async request(
    pool: ServerPool,
    message: Record<string, unknown>,
    options: PoolRequestOptions,
  ): Promise<PoolAnswer> {
    const upstream = options.bound ?? pool.balancer.choose().upstream;
    const permit = upstream.circuit.tryAcquire();
    if (!permit.admitted) return { kind: "refused", retryAfterMs: permit.retryAfterMs };
    const headers = { ...options.headers };
    const params = message["params"] as Record<string, unknown> | undefined;
    this.sent.push({ upstream: upstream.name, method: String(message["method"]), params, headers });
    const response = await post(this.#urls.get(upstream) as string, headers, message);
    const answer = responseIn(response.text, String(response.headers["content-type"] ?? ""));
    if (answer === undefined) {
      if (response.status >= 500) permit.failure();
      else permit.neutral();
      return {
        kind: "failed",
        upstream,
        status: response.status,
        reason: `no response (${response.status})`,
      };
    }
    permit.success();
    return {
      kind: "answer",
      upstream,
      status: response.status,
      headers: response.headers,
      message: answer,
    };
  }

  async stream(): Promise<string> {
    return "ended";
  }

  async eraOf(_pool: ServerPool, upstream: Upstream): Promise<UpstreamEra | undefined> {
    if (this.#eras.has(upstream)) return this.#eras.get(upstream);
    const envelope = {
      "io.modelcontextprotocol/protocolVersion": modernRevision,
      "io.modelcontextprotocol/clientInfo": { name: "stand-in", version: "1" },
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const response = await post(
      this.#urls.get(upstream) as string,
      { "mcp-protocol-version": modernRevision, "mcp-method": "server/discover" },
      { jsonrpc: "2.0", id: 0, method: "server/discover", params: { _meta: envelope } },
    );
    const answer = responseIn(response.text, String(response.headers["content-type"] ?? "")) as
      | { result?: { supportedVersions?: string[] }; error?: { code: number; message: string } }
      | undefined;
    let era: UpstreamEra | undefined = discoverEra(response.status, answer);
    if (era === "modern" && answer?.result?.supportedVersions?.some((v) => v < modernRevision)) era = "dual";
    this.#eras.set(upstream, era);
    return era;
  }
}

/** A POST of `message` on a connection of its own (a restarted server leaves no stale one behind). */
function post(
  url: string,
  headers: Readonly<Record<string, string>>,
  message: unknown,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.end(JSON.stringify(message));
  });
}

/** The JSON-RPC response in an answer's body: the JSON itself, or the SSE event that carries it. */
function responseIn(text: string, contentType: string): Record<string, unknown> | undefined {
  const messages = contentType.includes("text/event-stream")
    ? text
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim())
    : [text];
  for (const data of messages) {
    try {
      const message = JSON.parse(data) as Record<string, unknown>;
      if ("result" in message || "error" in message) return message;
    } catch {
      // not JSON: no response here
    }
  }
  return undefined;
}

/**
 * Sends a client's call on `hop` as the aggregate's endpoint would: the client's headers less the
 * dropped ones, the hop's set, its `_meta` envelope in `params._meta`, to its bound upstream.
 */
export function sendOnHop(
  poolClient: PoolClient,
  pool: ServerPool,
  hop: Hop,
  message: Record<string, unknown>,
  clientHeaders: Readonly<Record<string, string>> = {},
): Promise<PoolAnswer> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(clientHeaders))
    if (!hop.dropHeaders.includes(name.toLowerCase())) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(hop.setHeaders)) headers[name.toLowerCase()] = value;
  let sent = message;
  if (hop.metaEnvelope !== undefined) {
    const params = (message["params"] ?? {}) as Record<string, unknown>;
    const meta = { ...(params["_meta"] as Record<string, unknown> | undefined), ...hop.metaEnvelope };
    sent = { ...message, params: { ...params, _meta: meta } };
  }
  return poolClient.request(pool, sent, { bound: hop.bound, headers, timeoutMs: 10_000 });
}

/** A `tools/call` of `name` with `args`, and the routing headers 2026-07-28 asks for. */
export function toolCall(id: number, name: string, args: Record<string, unknown> = {}) {
  return {
    message: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } },
    headers: { "mcp-method": "tools/call", "mcp-name": name },
  };
}

/** The first text of a tool call's answer. */
export function answerText(answer: PoolAnswer): string {
  if (answer.kind !== "answer") return `(${answer.kind})`;
  const result = answer.message["result"] as { content?: { text?: string }[] } | undefined;
  return result?.content?.[0]?.text ?? JSON.stringify(answer.message);
}
