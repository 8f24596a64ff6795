import assert from "node:assert/strict";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import type { AggregateConfig } from "../../src/config/Config.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

/** What the aggregate's tests share: an aggregate over fake servers on manual time, and its lists read. */

export const base: AggregateConfig = {
  route: "/mcp",
  servers: ["a"],
  separator: "__",
  graceMs: 10_000,
  listTimeoutMs: 2_000,
};

/** An aggregate over fake servers, on manual time, closed when the test ends. */
export function setup(
  t: { after(fn: () => void): void },
  servers: FakeServer[],
  config: Partial<AggregateConfig> = {},
) {
  const timers = new ManualTimers(1_000_000);
  const log = capturedLog();
  const poolClient = new FakePoolClient().add(...servers);
  const aggregate = new Aggregate({
    poolClient,
    circuits: registryOf(...servers),
    timers,
    logger: log.logger,
    random: () => 0,
  });
  t.after(() => aggregate.close());
  aggregate.reconfigure({ ...base, servers: servers.map((s) => s.name), ...config }, poolsOf(...servers));
  return { timers, aggregate, lines: log.lines, poolClient };
}

export interface Listed {
  readonly names: string[];
  readonly servers: Record<string, { listed: string; reason?: string }>;
}

export async function tools(aggregate: Aggregate, kind: ListKind = "tools"): Promise<Listed> {
  const answer = await aggregate.answer(kind, "earlier", undefined);
  assert.ok("result" in answer, JSON.stringify(answer));
  const result = JSON.parse(answer.result);
  const items = result[kind] as { name?: string; uri?: string }[];
  const named = kind === "tools" || kind === "prompts";
  return {
    names: items.map((i) => (named ? i.name : i.uri) ?? ""),
    servers: result._meta["breakwater/servers"],
  };
}

/** A server that does not say when its tools change: its lists are fresh for their ttlMs only. */
export function unwatched(name: string): FakeServer {
  const server = new FakeServer(name);
  server.capabilities = { tools: {} };
  return server;
}
