import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { AdminServer, type ServerView } from "../../src/admin/AdminServer.ts";
import type { AggregateView } from "../../src/admin/AggregateView.ts";
import { CircuitActivity } from "../../src/admin/CircuitActivity.ts";
import { ProxyMetrics } from "../../src/admin/ProxyMetrics.ts";
import type { CircuitBreaker } from "../../src/breaker/CircuitBreaker.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { HostRule } from "../../src/edge/HostRule.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { ManualClock } from "../support/ManualClock.ts";

/** An upstream that only has a name and a circuit: admin reads nothing else of the ones it groups. */
function stubUpstream(name: string, circuit: CircuitBreaker): Upstream {
  return {
    name,
    circuit,
    inFlight: 0,
    maxInFlight: 0,
    servesSessionless: true,
    dispatch() {
      throw new Error("admin never sends a request");
    },
    healthCheck: () => undefined,
    close: async () => {},
  };
}

/**
 * An admin listener on 127.0.0.1 over hand-made servers of stub upstreams, as the data plane hands them
 * (`servers` as `AdminServerOptions.servers`); `undefined` leaves the option out (the old form).
 * `setServers` changes what `servers()` returns, as a reload does. Circuits run on a manual clock.
 * `aggregate`, when given, is `AdminServerOptions.aggregate` (what the aggregate's lists show).
 */
export async function startServersAdmin(
  layout: Record<string, readonly string[]>,
  withServers = true,
  aggregate?: () => AggregateView | undefined,
) {
  const clock = new ManualClock();
  const circuits = new CircuitRegistry();
  const metrics = new ProxyMetrics(circuits);
  const activity = new CircuitActivity(circuits);
  const upstreams = new Map<string, Upstream>();
  const serversOf = (shape: Record<string, readonly string[]>): ServerView[] =>
    Object.entries(shape).map(([name, names]) => ({
      name,
      upstreams: names.map((upstream) => {
        const known = upstreams.get(upstream);
        if (known !== undefined) return known;
        const { breaker } = circuits.create(upstream, { clock, failureThreshold: 1 });
        const made = stubUpstream(upstream, breaker);
        upstreams.set(upstream, made);
        return made;
      }),
    }));
  let servers = serversOf(layout);
  const all = () => servers.flatMap((s) => s.upstreams);
  const admin = new AdminServer({
    upstreams: all,
    circuits,
    toolCircuit: (upstream, tool) => circuits.get(upstream, tool),
    metrics,
    activity,
    token: undefined,
    hosts: new HostRule(["*"]),
    ...(withServers ? { servers: () => servers } : {}),
    ...(aggregate === undefined ? {} : { aggregate }),
  });
  admin.server.listen(0, "127.0.0.1");
  await once(admin.server, "listening");
  const { port } = admin.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    circuits,
    metrics,
    /** The circuit of upstream `name`. */
    breaker: (name: string): CircuitBreaker => {
      const upstream = upstreams.get(name);
      if (upstream === undefined) throw new Error(`no upstream ${name}`);
      return upstream.circuit;
    },
    /** What `servers()` returns from now on (a reload): known upstreams keep their circuits. */
    setServers: (shape: Record<string, readonly string[]>) => {
      servers = serversOf(shape);
    },
    close: async () => {
      admin.server.closeAllConnections();
      await new Promise((resolve) => admin.server.close(resolve));
    },
  };
}
