import type {
  ListKind,
  PoolAnswer,
  PoolClient,
  PoolRequestOptions,
  UpstreamEra,
} from "../../src/aggregate/contracts.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { admits } from "../../src/circuits/serverStatus.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";

/** One request a fake server got: its method, body and options. */
export interface Asked {
  readonly method: string;
  readonly message: Record<string, unknown>;
  readonly options: PoolRequestOptions | undefined;
}

/** A standing stream Breakwater opened to a fake server (a listen or a GET stream). */
interface Standing {
  readonly onMessage: (message: Record<string, unknown>) => void;
  readonly end: () => void;
}

const listMethods: Record<string, ListKind> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resourceTemplates",
};

/**
 * An aggregated server as the aggregate's PoolClient reaches it: its lists, era and capabilities are
 * the test's to set; it records every request, answers lists (paged), `server/discover`, `initialize`
 * and `subscriptions/listen` (acknowledged), and sends change notifications on demand.
 */
export class FakeServer {
  readonly name: string;
  readonly pool: ServerPool;
  readonly upstreams: FakeUpstream[];
  era: UpstreamEra = "modern";
  capabilities: Record<string, unknown> = { tools: { listChanged: true } };
  lists: Record<ListKind, Record<string, unknown>[]> = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
  };
  ttlMs: number | undefined;
  cacheScope: string | undefined;
  pageSize = 1_000;
  /** An HTTP status every list request gets (401, 403), instead of the list. */
  listStatus: number | undefined;
  /** Methods it answers -32601 (method not found). */
  readonly missing = new Set<string>();
  /** List requests wait for `release()` while set. */
  holdLists = false;
  readonly asked: Asked[] = [];
  readonly standing = new Set<Standing>();
  #held: (() => void)[] = [];
  #sessions = 0;

  /** The session of Breakwater's latest `initialize` (earlier era). */
  get session(): string {
    return `${this.name}-session-${this.#sessions}`;
  }

  /** Forgets Breakwater's session (a restart): requests on it get 404. */
  loseSession(): void {
    this.#sessions++;
  }

  constructor(name: string, upstreams = 1, allowsTool?: (tool: string) => boolean) {
    this.name = name;
    this.upstreams = Array.from({ length: upstreams }, (_, i) => new FakeUpstream(`${name}-${i + 1}`));
    this.pool = { name, upstreams: this.upstreams, allowsTool } as unknown as ServerPool;
  }

  /** Its tools, named. */
  setTools(...names: string[]): void {
    this.lists.tools = names.map((name) => ({ name, inputSchema: { type: "object" } }));
  }

  /** How many requests of `method` it got. */
  count(method: string): number {
    return this.asked.filter((a) => a.method === method).length;
  }

  /** Sends `method` on every standing stream. */
  notify(method: string): void {
    for (const stream of this.standing) stream.onMessage({ jsonrpc: "2.0", method });
  }

  /** Sends a request (`method`, `id`) on every standing stream, as a server asks its client. */
  askClient(method: string, id: number): void {
    for (const stream of this.standing) stream.onMessage({ jsonrpc: "2.0", id, method, params: {} });
  }

  /** Ends every standing stream (the server restarted). */
  endStreams(): void {
    for (const stream of [...this.standing]) stream.end();
  }

  release(): void {
    this.holdLists = false;
    for (const go of this.#held.splice(0)) go();
  }

  open(): void {
    for (const upstream of this.upstreams) upstream.circuit.openFor(3_600_000);
  }

  close(): void {
    for (const upstream of this.upstreams) upstream.circuit.close();
  }

  async answer(
    message: Record<string, unknown>,
    options: PoolRequestOptions,
    upstream: Upstream,
  ): Promise<PoolAnswer> {
    const method = String(message["method"] ?? "response");
    const id = message["id"];
    const reply = (result: Record<string, unknown>, headers: Record<string, string> = {}): PoolAnswer => ({
      kind: "answer",
      upstream,
      status: 200,
      headers,
      message: { jsonrpc: "2.0", id, result },
    });
    if (method === "server/discover") {
      if (this.era === "earlier")
        return {
          kind: "answer",
          upstream,
          status: 400,
          headers: {},
          message: { jsonrpc: "2.0", id, error: { code: -32601, message: "no" } },
        };
      return reply({
        supportedVersions: ["2026-07-28"],
        capabilities: this.capabilities,
        serverInfo: { name: this.name, version: "1" },
      });
    }
    if (method === "initialize") {
      this.#sessions++;
      return reply(
        {
          protocolVersion: "2025-11-25",
          capabilities: this.capabilities,
          serverInfo: { name: this.name, version: "1" },
        },
        { "mcp-session-id": this.session },
      );
    }
    const session = options.headers?.["mcp-session-id"];
    if (session !== undefined && session !== this.session)
      return { kind: "failed", upstream, status: 404, reason: "no such session" };
    if (method === "notifications/initialized")
      return { kind: "failed", upstream, status: 202, reason: "no response" };
    if (method === "subscriptions/listen") {
      await this.#stand(
        options.onMessage === undefined ? () => {} : (m) => options.onMessage?.(m, upstream),
        options.signal,
        true,
      );
      return { kind: "failed", upstream, status: 200, reason: "stream ended" };
    }
    if (this.missing.has(method))
      return {
        kind: "answer",
        upstream,
        status: 200,
        headers: {},
        message: { jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } },
      };
    const kind = listMethods[method];
    if (kind === undefined) return reply({});
    if (this.holdLists) await new Promise<void>((go) => this.#held.push(go));
    if (this.listStatus !== undefined)
      return { kind: "failed", upstream, status: this.listStatus, reason: "refused" };
    const from = Number((message["params"] as { cursor?: string } | undefined)?.cursor ?? 0);
    const items = this.lists[kind].slice(from, from + this.pageSize);
    const result: Record<string, unknown> = { [kind]: items };
    if (from + this.pageSize < this.lists[kind].length) result["nextCursor"] = String(from + this.pageSize);
    if (this.ttlMs !== undefined) result["ttlMs"] = this.ttlMs;
    if (this.cacheScope !== undefined) result["cacheScope"] = this.cacheScope;
    return reply(result);
  }

  /** A standing stream until the test ends it or Breakwater aborts it. */
  #stand(
    onMessage: Standing["onMessage"],
    signal: AbortSignal | undefined,
    acknowledge: boolean,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const stream: Standing = {
        onMessage,
        end: () => {
          this.standing.delete(stream);
          resolve();
        },
      };
      this.standing.add(stream);
      signal?.addEventListener("abort", stream.end, { once: true });
      if (acknowledge)
        queueMicrotask(() =>
          onMessage({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged" }),
        );
    });
  }

  /** The earlier era's GET stream of Breakwater's session. */
  stream(onMessage: Standing["onMessage"], signal: AbortSignal): Promise<void> {
    return this.#stand(onMessage, signal, false);
  }
}

/** Breakwater's PoolClient over fake servers: admission by the upstreams' circuits, as the real one. */
export class FakePoolClient implements PoolClient {
  readonly servers = new Map<string, FakeServer>();

  add(...servers: FakeServer[]): this {
    for (const server of servers) this.servers.set(server.name, server);
    return this;
  }

  /** Every request of `method` to any server. */
  count(method: string): number {
    let n = 0;
    for (const server of this.servers.values()) n += server.count(method);
    return n;
  }

  async request(
    pool: ServerPool,
    message: Record<string, unknown>,
    options: PoolRequestOptions,
  ): Promise<PoolAnswer> {
    const server = this.#server(pool.name);
    server.asked.push({ method: String(message["method"] ?? "response"), message, options });
    const upstream = options.bound ?? pool.upstreams.find((u) => admits(u.circuit.state));
    if (upstream === undefined || !admits(upstream.circuit.state))
      return { kind: "refused", retryAfterMs: 1_000 };
    return server.answer(message, options, upstream);
  }

  async stream(
    upstream: Upstream,
    _headers: Readonly<Record<string, string>>,
    onMessage: (message: Record<string, unknown>) => void,
    signal: AbortSignal,
  ): Promise<string> {
    const server = [...this.servers.values()].find((s) => s.upstreams.includes(upstream as FakeUpstream));
    if (server === undefined) return "no such upstream";
    server.asked.push({ method: "GET", message: {}, options: undefined });
    await server.stream(onMessage, signal);
    return "ended";
  }

  async eraOf(pool: ServerPool): Promise<UpstreamEra | undefined> {
    return this.#server(pool.name).era;
  }

  #server(name: string): FakeServer {
    const server = this.servers.get(name);
    if (server === undefined) throw new Error(`no fake server ${name}`);
    return server;
  }
}

/** A registry holding the fake servers' upstream circuits, as the plane's holds its upstreams'. */
export function registryOf(...servers: FakeServer[]): CircuitRegistry {
  const registry = new CircuitRegistry();
  for (const server of servers)
    for (const upstream of server.upstreams)
      registry.add({ upstream: upstream.name, tool: undefined, breaker: upstream.circuit });
  return registry;
}

/** The pools of `servers` by name, as a plane hands them to the aggregate. */
export function poolsOf(...servers: FakeServer[]): Map<string, ServerPool> {
  return new Map(servers.map((server) => [server.name, server.pool]));
}
