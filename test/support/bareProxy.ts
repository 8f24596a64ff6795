import type { AddressInfo } from "node:net";
import { EdgeGuard } from "../../src/edge/EdgeGuard.ts";
import { HostRule } from "../../src/edge/HostRule.ts";
import { OriginRule } from "../../src/edge/OriginRule.ts";
import { PublicUrls } from "../../src/edge/PublicUrls.ts";
import type { SettledReport } from "../../src/exchange/Settlement.ts";
import { StatusJudge } from "../../src/judges/StatusJudge.ts";
import { BodyBudget } from "../../src/proxy/BodyBudget.ts";
import type { CallReader } from "../../src/proxy/Call.ts";
import { ProxyServer, type ProxyServerOptions } from "../../src/proxy/ProxyServer.ts";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import { ServerPool } from "../../src/proxy/ServerPool.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

export interface BareProxy {
  readonly url: string;
  readonly server: ProxyServer;
  /** What it was made with (a test reconfigures it with these, changed). */
  readonly options: ProxyServerOptions;
  /** Every outcome reported, in order. */
  readonly settled: SettledReport[];
  close(): Promise<void>;
}

const judge = new StatusJudge((status) => status >= 500);
/** Every request plain HTTP, judged by its status: 5xx are failures. */
export const plainCalls: CallReader = { read: () => ({ judge: () => judge }) };

/**
 * A server pool made by hand: plain calls, round robin, its upstreams' URLs public under its route.
 * Pools of one proxy share `sessions` (made over all their upstreams), as the plane's do.
 */
export function barePool(options: {
  readonly name: string;
  readonly route: string;
  readonly upstreams: readonly Upstream[];
  readonly sessions?: SessionTokens;
  readonly upstreamUrls?: ReadonlyMap<Upstream, URL>;
  readonly calls?: CallReader;
  readonly loadBalancing?: "round_robin" | "failover";
}): ServerPool {
  const { name, route, upstreams } = options;
  return new ServerPool({
    name,
    route,
    upstreams,
    loadBalancing: options.loadBalancing ?? "round_robin",
    calls: options.calls ?? plainCalls,
    publicUrls: new PublicUrls({
      route,
      publicUrl: undefined,
      upstreamUrls: options.upstreamUrls ?? new Map(),
    }),
    sessions: options.sessions ?? new SessionTokens(upstreams, []),
  });
}

/**
 * A ProxyServer alone (no admin, no config file) in front of the given upstreams, one server on "/"
 * (reading requests with `calls`, else plain) unless `options.routes` says otherwise, on a port of the
 * system's choosing; 5xx are failures.
 */
export async function startBareProxy(
  upstreams: readonly Upstream[],
  { calls, ...options }: Partial<ProxyServerOptions> & { readonly calls?: CallReader } = {},
): Promise<BareProxy> {
  const settled: SettledReport[] = [];
  const made: ProxyServerOptions = {
    edge: new EdgeGuard(new HostRule(["*"]), new OriginRule(["*"], { loopbackListener: true })),
    maxBodyBytes: 1 << 20,
    bodyBudget: new BodyBudget(1 << 24),
    requestTimeoutMs: 5_000,
    answerLimits: { answerTimeoutMs: 0, maxAnswerMs: 0 },
    observer: { head() {}, settled: (report) => settled.push(report) },
    ...options,
    routes:
      options.routes ??
      new RouteTable([
        barePool({ name: "default", route: "/", upstreams, ...(calls === undefined ? {} : { calls }) }),
      ]),
  };
  const server = new ProxyServer(made);
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    server,
    options: made,
    settled,
    async close() {
      server.server.closeAllConnections();
      await new Promise((resolve) => server.server.close(resolve));
    },
  };
}
