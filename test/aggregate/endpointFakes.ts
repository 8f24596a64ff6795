import type { IncomingHttpHeaders } from "node:http";
import { request } from "undici";
import { AggregateEndpoint } from "../../src/aggregate/AggregateEndpoint.ts";
import type {
  AggregateLists,
  Caller,
  ClientSession,
  ClientSessions,
  Hop,
  HopPlanner,
  ListAnswer,
  ListKind,
  Named,
  NoHop,
  PoolAnswer,
  PoolClient,
  PoolRequestOptions,
} from "../../src/aggregate/contracts.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { PublicUrls } from "../../src/edge/PublicUrls.ts";
import type { McpEra } from "../../src/health/discoverEra.ts";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import { ServerPool } from "../../src/proxy/ServerPool.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { type BareProxy, startBareProxy } from "../support/bareProxy.ts";
import { mcpReading } from "../support/mcpReading.ts";

/**
 * Small fakes of the aggregate's other parts (lists, hops, sessions, Breakwater's own client), and a
 * real proxy whose route table holds real pools (McpCalls over HTTP upstreams) and the endpoint.
 */

/** Lists over fixed server names: `<server>__<name>` and `<server>+<uri>`; records what it is told. */
export class FakeLists implements AggregateLists {
  readonly servers: ReadonlySet<string>;
  readonly said: [string, ListKind][] = [];
  readonly asked: [ListKind, McpEra, string | undefined][] = [];
  readonly #listeners = new Set<{ kinds: ReadonlySet<ListKind>; tell: (kind: ListKind) => void }>();
  capabilitiesGiven: Record<string, unknown> = { tools: { listChanged: true } };
  answerWith: (kind: ListKind, era: McpEra) => ListAnswer = (kind) => ({ result: `{"${kind}":[]}` });

  constructor(servers: readonly string[]) {
    this.servers = new Set(servers);
  }

  async answer(kind: ListKind, era: McpEra, cursor: string | undefined): Promise<ListAnswer> {
    this.asked.push([kind, era, cursor]);
    return this.answerWith(kind, era);
  }
  toolOrPrompt(name: string): Named | undefined {
    const at = name.indexOf("__");
    const server = name.slice(0, at);
    return at > 0 && this.servers.has(server) ? { server, name: name.slice(at + 2) } : undefined;
  }
  resource(uri: string): Named | undefined {
    const at = uri.indexOf("+");
    const server = uri.slice(0, at);
    return at > 0 && this.servers.has(server) ? { server, name: uri.slice(at + 1) } : undefined;
  }
  prefixUri(server: string, uri: string): string {
    return `${server}+${uri}`;
  }
  capabilities(): Record<string, unknown> {
    return this.capabilitiesGiven;
  }
  onChange(kinds: ReadonlySet<ListKind>, tell: (kind: ListKind) => void): () => void {
    const listener = { kinds, tell };
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  serverSaidChanged(server: string, kind: ListKind): void {
    this.said.push([server, kind]);
  }
  /** Tells every listener of `kind` that it changed. */
  change(kind: ListKind): void {
    for (const listener of this.#listeners) if (listener.kinds.has(kind)) listener.tell(kind);
  }
  get listeners(): number {
    return this.#listeners.size;
  }
}

/** A plain hop: any upstream, nothing set or dropped but what `overrides` says. */
export function plainHop(overrides: Partial<Hop> = {}): Hop {
  return {
    bound: undefined,
    setHeaders: {},
    dropHeaders: [],
    metaEnvelope: undefined,
    addsResultType: false,
    sessionLost: undefined,
    ...overrides,
  };
}

/** Hops as `plan` makes them; records each caller asked for. */
export class FakeHops implements HopPlanner {
  readonly asked: [string, Caller][] = [];
  readonly endedSessions: ClientSession[] = [];
  plan: (pool: ServerPool, caller: Caller) => Hop | NoHop = () => plainHop();

  async hop(pool: ServerPool, caller: Caller): Promise<Hop | NoHop> {
    this.asked.push([pool.name, caller]);
    return this.plan(pool, caller);
  }
  ended(session: ClientSession): void {
    this.endedSessions.push(session);
  }
}

/** Sessions whose token is `tok-<n>`; `ended` ones no longer open. */
export class FakeSessions implements ClientSessions {
  readonly #open = new Map<string, ClientSession>();
  readonly ended: ClientSession[] = [];

  begin(protocolVersion: string, initializeParams: Readonly<Record<string, unknown>>) {
    const token = `tok-${this.#open.size + 1}`;
    const session = { id: token, protocolVersion, initializeParams };
    this.#open.set(token, session);
    return { token, session };
  }
  open(token: string): ClientSession | undefined {
    return this.#open.get(token);
  }
  end(session: ClientSession): void {
    this.ended.push(session);
    this.#open.delete(session.id);
  }
}

/** Breakwater's own client, recording each request. */
export class FakePoolClient implements PoolClient {
  readonly sent: { pool: string; message: Record<string, unknown>; options: PoolRequestOptions }[] = [];

  async request(
    pool: ServerPool,
    message: Record<string, unknown>,
    options: PoolRequestOptions,
  ): Promise<PoolAnswer> {
    this.sent.push({ pool: pool.name, message, options });
    return { kind: "refused", retryAfterMs: undefined };
  }
  async stream(): Promise<string> {
    return "ended";
  }
  async eraOf(): Promise<undefined> {
    return undefined;
  }
}

/** One aggregated server: a pool of real HTTP upstreams read by McpCalls (tool circuits on). */
export function mcpPool(name: string, urls: readonly string[]) {
  const { config } = loadConfig({ upstreams: [...urls] });
  const circuits = new CircuitRegistry();
  const configs = config.upstreams.map((u) => ({ ...u, name: `${name}-${u.name}` }));
  const upstreams = configs.map(
    (u) => new HttpUpstream(u, circuits.create(u.name, u.breaker).breaker, 5_000),
  );
  const { calls, tools } = mcpReading(configs, upstreams, circuits, config.isFailureCode);
  const pool = new ServerPool({
    name,
    route: undefined,
    upstreams,
    loadBalancing: "round_robin",
    calls,
    publicUrls: new PublicUrls({ route: "/", publicUrl: undefined, upstreamUrls: new Map() }),
    sessions: new SessionTokens(upstreams, [Buffer.alloc(32, 7)]),
  });
  return { pool, upstreams, tools, circuits };
}

export interface AggregateRig {
  readonly proxy: BareProxy;
  readonly endpoint: AggregateEndpoint;
  readonly lists: FakeLists;
  readonly hops: FakeHops;
  readonly sessions: FakeSessions;
  readonly poolClient: FakePoolClient;
  /** POSTs `body` to the aggregate's route. */
  post(body: string, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** A real proxy with the endpoint on `/mcp` over `pools`, and fakes for the rest of the aggregate. */
export async function startAggregate(pools: readonly ServerPool[]): Promise<AggregateRig> {
  const lists = new FakeLists(pools.map((p) => p.name));
  const hops = new FakeHops();
  const sessions = new FakeSessions();
  const poolClient = new FakePoolClient();
  const endpoint = new AggregateEndpoint({
    route: "/mcp",
    pools: new Map(pools.map((p) => [p.name, p])),
    lists,
    hops,
    sessions,
    poolClient,
  });
  const proxy = await startBareProxy([], { routes: new RouteTable(pools, [endpoint]) });
  return {
    proxy,
    endpoint,
    lists,
    hops,
    sessions,
    poolClient,
    post: (body, headers = {}) => post(`${proxy.url}/mcp`, body, headers),
    async close() {
      endpoint.close();
      await proxy.close();
      for (const pool of pools) for (const upstream of pool.upstreams) await upstream.close();
    },
  };
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The `_meta` and headers of a 2026-07-28 request of `method` (naming `name`, if given). */
export function modernRequest(
  id: number | string,
  method: string,
  params: Record<string, unknown>,
  name?: string,
): { body: string; headers: Record<string, string> } {
  const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28" };
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } });
  const headers: Record<string, string> = { "mcp-protocol-version": "2026-07-28", "mcp-method": method };
  if (name !== undefined) headers["mcp-name"] = name;
  return { body, headers };
}
