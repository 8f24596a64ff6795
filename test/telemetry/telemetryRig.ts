import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { type Handler, startUpstream, type TestUpstream } from "../support/upstream.ts";

/** A tools/call request's text, with `meta` as its `params._meta` when given. */
export function toolCall(
  id: number,
  name: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): string {
  const params = meta === undefined ? { name, arguments: args } : { name, arguments: args, _meta: meta };
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params });
}

/** POSTs a JSON-RPC text as an MCP client does; answers status and body text. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body,
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/**
 * An MCP server's tools over plain JSON answers: `add` answers a result, `fails` a result with
 * `isError`, `crashes` the internal error -32603, any other name -32602 (no such tool).
 */
export function mcpUpstream(): Handler {
  return (_req, res, body) => {
    const message = JSON.parse(body) as { id?: number; method: string; params?: { name?: string } };
    const reply = (answer: Record<string, unknown>) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, ...answer }));
    };
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const name = message.params?.name;
    if (message.method !== "tools/call") return reply({ result: {} });
    if (name === "add") return reply({ result: { content: [{ type: "text", text: "3" }] } });
    if (name === "fails") return reply({ result: { content: [], isError: true } });
    if (name === "crashes") return reply({ error: { code: -32603, message: "internal error" } });
    return reply({ error: { code: -32602, message: `unknown tool ${name}` } });
  };
}

/** A proxy with telemetry on, in front of `mcpUpstream()`, exporting to a receiver of its own. */
export interface Traced {
  readonly receiver: OtlpReceiver;
  readonly upstream: TestUpstream;
  readonly proxy: TestProxy;
  /** Stops the proxy first (its last export reaches the receiver), then the upstream and the receiver. */
  close(): Promise<void>;
}

/** Starts a `Traced` whose spans leave 10 ms after they end. */
export async function startTraced(): Promise<Traced> {
  const receiver = await OtlpReceiver.start();
  const upstream = await startUpstream(mcpUpstream());
  const proxy = await tracedProxy(`[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n`, receiver);
  return {
    receiver,
    upstream,
    proxy,
    close: async () => {
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    },
  };
}

/** Breakwater from `toml` with telemetry on, exporting to `receiver` 10 ms after a span ends. */
export function tracedProxy(toml: string, receiver: OtlpReceiver): Promise<TestProxy> {
  return startProxy(
    `${toml}[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
    {},
    {
      telemetry: { scheduledDelayMillis: 10 },
    },
  );
}
