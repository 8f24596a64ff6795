import type { AddressInfo } from "node:net";
import { EdgeGuard } from "../../src/edge/EdgeGuard.ts";
import { HostRule } from "../../src/edge/HostRule.ts";
import { OriginRule } from "../../src/edge/OriginRule.ts";
import { PublicUrls } from "../../src/edge/PublicUrls.ts";
import type { SettledReport } from "../../src/exchange/Settlement.ts";
import { StatusJudge } from "../../src/judges/StatusJudge.ts";
import { BodyBudget } from "../../src/proxy/BodyBudget.ts";
import { ProxyServer, type ProxyServerOptions } from "../../src/proxy/ProxyServer.ts";
import { UpstreamBalancer } from "../../src/proxy/UpstreamBalancer.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

export interface BareProxy {
  readonly url: string;
  readonly server: ProxyServer;
  /** Every outcome reported, in order. */
  readonly settled: SettledReport[];
  close(): Promise<void>;
}

/**
 * A ProxyServer alone (no admin, no config file) in front of the given upstreams, on a port of the
 * system's choosing; 5xx are failures.
 */
export async function startBareProxy(
  upstreams: readonly Upstream[],
  options: Partial<ProxyServerOptions> = {},
): Promise<BareProxy> {
  const judge = new StatusJudge((status) => status >= 500);
  const settled: SettledReport[] = [];
  const server = new ProxyServer({
    route: "/",
    edge: new EdgeGuard(new HostRule(["*"]), new OriginRule(["*"], { loopbackListener: true })),
    publicUrls: new PublicUrls({ route: "/", publicUrl: undefined, upstreamUrls: new Map() }),
    maxBodyBytes: 1 << 20,
    bodyBudget: new BodyBudget(1 << 24),
    requestTimeoutMs: 5_000,
    balancer: new UpstreamBalancer(upstreams, "round_robin"),
    sessions: new SessionTokens(upstreams, []),
    answerLimits: { answerTimeoutMs: 0, maxAnswerMs: 0 },
    calls: { read: () => ({ judge: () => judge }) },
    observer: { head() {}, settled: (report) => settled.push(report) },
    ...options,
  });
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    server,
    settled,
    async close() {
      server.server.closeAllConnections();
      await new Promise((resolve) => server.server.close(resolve));
    },
  };
}
