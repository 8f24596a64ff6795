import type { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import type { UpstreamConfig } from "../../src/config/Config.ts";
import type { ExchangeJudge } from "../../src/judges/ExchangeJudge.ts";
import type { JsonRpcRules } from "../../src/judges/JsonRpcJudge.ts";
import { StatusJudge } from "../../src/judges/StatusJudge.ts";
import { McpCalls } from "../../src/mcp/McpCalls.ts";
import { ToolCatalog } from "../../src/mcp/ToolCatalog.ts";
import { ToolCircuits } from "../../src/mcp/ToolCircuits.ts";
import type { BodyBudget } from "../../src/proxy/BodyBudget.ts";
import { sessionsOnly } from "../../src/upstreams/stdio/sessionsOnly.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

/**
 * How a plane reads the calls of `upstreams` (made from `configs`, in order): McpCalls with each
 * upstream's status judge and JSON-RPC rules, tool circuits on (in `circuits`), a tool catalogue per
 * upstream, and optionally a server's `tools` filter.
 */
export function mcpReading(
  configs: readonly UpstreamConfig[],
  upstreams: readonly Upstream[],
  circuits: CircuitRegistry,
  isFailureCode: (code: number) => boolean,
  filter: {
    readonly allowsTool?: ((tool: string) => boolean) | undefined;
    readonly listBudget?: BodyBudget | undefined;
  } = {},
) {
  const catalogs = new Map(configs.map((u) => [u.name, new ToolCatalog(u.toolCircuit.maxTools)]));
  const tools = new ToolCircuits(
    circuits,
    new Map(configs.map((u) => [u.name, { ...u.toolCircuit, enabled: true }])),
    catalogs,
  );
  const plainJudges = new Map<Upstream, ExchangeJudge>();
  const rules = new Map<Upstream, JsonRpcRules>();
  configs.forEach((u, i) => {
    const upstream = upstreams[i] as Upstream;
    plainJudges.set(upstream, new StatusJudge(u.isFailureStatus));
    rules.set(upstream, { isFailureStatus: u.isFailureStatus, isFailureCode });
  });
  const calls = new McpCalls({
    plainJudges,
    rules,
    tools,
    readJsonRpc: true,
    sessionsOnly: sessionsOnly(upstreams),
    ...filter,
  });
  return { calls, tools, catalogs };
}
