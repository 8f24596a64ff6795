import assert from "node:assert/strict";
import type { Caller, ClientSession, Hop, NoHop, UpstreamEra } from "../../src/aggregate/contracts.ts";
import { UpstreamSessions } from "../../src/aggregate/UpstreamSessions.ts";
import { modernRevision } from "../../src/health/discoverEra.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { startSdk2Server } from "../support/sdk2.ts";
import { StandInPoolClient } from "./hopRig.ts";
import { type Sdk1SessionServer, startSdk1SessionServer } from "./sdk1SessionServer.ts";

// What the hop tests share: pools over real servers, planners, callers of both eras.

const closing: (() => Promise<void>)[] = [];
/** Stops every server the helpers below started (each test file runs alone: `after(closeAll)`). */
export async function closeAll(): Promise<void> {
  for (const close of closing.reverse()) await close();
}

/** Stops `close` with the rest. */
export function closeLater(close: () => Promise<void>): void {
  closing.push(close);
}

/** A server's pool of upstreams at `urls` (one FakeUpstream each, for its name and circuit). */
export function poolAt(
  name: string,
  urls: readonly string[],
  eras: readonly (UpstreamEra | undefined)[] = [],
) {
  const upstreams = urls.map((_, i) => new FakeUpstream(`${name}-${i + 1}`));
  const pool = barePool({ name, route: `/${name}`, upstreams, loadBalancing: "failover" });
  const urlOf = new Map<Upstream, string>(upstreams.map((u, i) => [u, urls[i] as string]));
  const known = new Map<Upstream, UpstreamEra>();
  eras.forEach((era, i) => {
    if (era !== undefined) known.set(upstreams[i] as Upstream, era);
  });
  return { pool, upstreams, poolClient: new StandInPoolClient(urlOf, known) };
}

export function planner(
  poolClient: StandInPoolClient,
  options: Partial<ConstructorParameters<typeof UpstreamSessions>[0]> = {},
) {
  return new UpstreamSessions({ poolClient, logger: capturedLog().logger, ...options });
}

let sessions = 0;
/** An earlier-era client's session with the aggregate, as its token would carry it. */
export function earlierClient(name = "claude-ish"): ClientSession {
  return {
    id: `client-${++sessions}`.padEnd(16, "x"),
    protocolVersion: "2025-06-18",
    initializeParams: {
      capabilities: { sampling: {}, roots: { listChanged: true } },
      clientInfo: { name, version: "1.0.0" },
    },
  };
}

export const modern: Caller = { era: "modern", meta: undefined };
export const earlier = (session: ClientSession): Caller => ({ era: "earlier", session });
/** The client headers and `_meta` a 2026-07-28 client sends with each call. */
export const modernHeaders = { "mcp-protocol-version": modernRevision };
export const modernMeta = {
  "io.modelcontextprotocol/protocolVersion": modernRevision,
  "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "2.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

export function isHop(hop: Hop | NoHop): hop is Hop {
  return !("refused" in hop);
}

export function hopOf(hop: Hop | NoHop): Hop {
  assert.ok(isHop(hop), `a hop, not ${JSON.stringify(hop)}`);
  return hop;
}

export async function sdk1(name: string): Promise<Sdk1SessionServer> {
  const server = await startSdk1SessionServer(name);
  closing.push(() => server.close());
  return server;
}

export async function sdk2(name: string, legacy: "stateless" | "reject") {
  const server = await startSdk2Server(name, { legacy });
  closing.push(() => server.close());
  return server;
}
