import type { AggregateServerView, AggregateView } from "./AggregateView.ts";

type Listed = AggregateServerView["listed"];
type LeftOut = AggregateServerView["leftOut"];

/** A server as `/health` and `/circuits` show it under `aggregate` (SPEC §7.2). */
export interface AggregateServerReport {
  listed: Listed;
  tools: number;
  prompts: number;
  resources: number;
  resource_templates: number;
  /** Only when the merged lists left some of its names out. */
  left_out?: LeftOut;
  /** Only while its lists are cached: how long its tools stay listed. */
  grace_left_ms?: number;
}

/** The aggregate as `/health` and `/circuits` show it: its route and its servers by name, in config order. */
export interface AggregateReport {
  route: string;
  servers: Record<string, AggregateServerReport>;
}

export function aggregateReport(view: AggregateView): AggregateReport {
  // own properties, whatever the name (see circuitReport)
  return {
    route: view.route,
    servers: Object.fromEntries(view.servers.map((server) => [server.name, serverReport(server)])),
  };
}

function serverReport(server: AggregateServerView): AggregateServerReport {
  return {
    ...counts(server),
    ...(server.leftOut.length === 0 ? {} : { left_out: leftOut(server) }),
    ...(server.graceLeftMs === undefined ? {} : { grace_left_ms: server.graceLeftMs }),
  };
}

/** What the dashboard's state holds of the aggregate: every field present, `null` for what is not. */
export interface AggregateState {
  readonly route: string;
  readonly servers: readonly (Required<Omit<AggregateServerReport, "grace_left_ms">> & {
    readonly name: string;
    readonly grace_left_ms: number | null;
  })[];
}

export function aggregateState(view: AggregateView): AggregateState {
  return {
    route: view.route,
    servers: view.servers.map((server) => ({
      name: server.name,
      ...counts(server),
      left_out: leftOut(server),
      grace_left_ms: server.graceLeftMs ?? null,
    })),
  };
}

/** Each left-out name and why, and nothing else its entry may carry. */
function leftOut(server: AggregateServerView): LeftOut {
  return server.leftOut.map(({ name, reason }) => ({ name, reason }));
}

function counts(server: AggregateServerView) {
  return {
    listed: server.listed,
    tools: server.tools,
    prompts: server.prompts,
    resources: server.resources,
    resource_templates: server.resourceTemplates,
  };
}
