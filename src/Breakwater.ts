import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { AdminServer } from "./admin/AdminServer.ts";
import { CircuitActivity } from "./admin/CircuitActivity.ts";
import { ProxyMetrics } from "./admin/ProxyMetrics.ts";
import type { Config } from "./config/Config.ts";
import type { Clock } from "./index.ts";
import { listen as listenOn } from "./listen.ts";
import { ProxyServer } from "./proxy/ProxyServer.ts";
import { SessionTable } from "./proxy/SessionTable.ts";
import { Upstream } from "./proxy/Upstream.ts";
import { UpstreamBalancer } from "./proxy/UpstreamBalancer.ts";

/** Session bindings kept at most, and how long an unused one is kept (README: MCP sessions). */
const maxSessions = 10_000;
const sessionIdleMs = 60 * 60 * 1_000;

export interface BreakwaterOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** For the breakers and the session table; tests step it by hand. */
  readonly clock?: Clock;
}

/**
 * The whole proxy: its upstreams and their breakers, the data plane, the admin listener, metrics and
 * the audit log of every state change.
 */
export class Breakwater {
  readonly upstreams: readonly Upstream[];
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  readonly #logger: Logger;
  readonly #config: Config;
  readonly #activity: CircuitActivity;

  constructor({ config, logger, clock }: BreakwaterOptions) {
    this.#logger = logger;
    this.upstreams = config.upstreams.map((u) => new Upstream(u, config.requestTimeoutMs, clock));
    const metrics = new ProxyMetrics(this.upstreams);
    const activity = new CircuitActivity(this.upstreams);
    this.#activity = activity;
    for (const upstream of this.upstreams) {
      upstream.breaker.onStateChange((change) => {
        metrics.transition(upstream.name, change);
        activity.transition(upstream.name, change, Date.now());
        const entry = { upstream: upstream.name, from: change.from, to: change.to, reason: change.reason };
        if (change.to === "open" || change.to === "forced_open") logger.warn(entry, "circuit opened");
        else logger.info(entry, "circuit state changed");
      });
    }
    this.proxy = new ProxyServer({
      route: config.route,
      maxBodyBytes: config.maxBodyBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      balancer: new UpstreamBalancer(this.upstreams, config.loadBalancing),
      sessions: new SessionTable<Upstream>({
        maxSessions,
        idleMs: sessionIdleMs,
        clock: clock ?? { now: () => performance.now() },
      }),
      onExchange: (report) => {
        metrics.exchange(report);
        activity.exchange(report);
      },
      onInternalError: (error) => logger.error({ err: error }, "request failed inside the proxy"),
    });
    this.admin = new AdminServer({
      upstreams: this.upstreams,
      metrics,
      activity,
      token: config.adminToken,
      onControl: (upstream, action) => logger.info({ upstream, action }, "manual circuit control"),
    });
    this.#config = config;
  }

  /** Starts both listeners. Rejects (with the listen error) if either cannot listen. */
  async start(): Promise<{ proxy: AddressInfo; admin: AddressInfo }> {
    const { listen, adminListen } = this.#config;
    const proxy = await listenOn(this.proxy.server, listen.port, listen.host);
    let admin: AddressInfo;
    try {
      admin = await listenOn(this.admin.server, adminListen.port, adminListen.host);
    } catch (error) {
      this.proxy.server.close();
      throw error;
    }
    this.#activity.start();
    return { proxy, admin };
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts what is left and
   * closes the upstream pools.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.#activity.stop();
    const servers = [this.proxy.server, this.admin.server].filter((s) => s.listening);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of servers) s.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), graceMs);
    });
    if ((await Promise.race([closed, expired])) === "expired") {
      this.#logger.warn({ graceMs }, "grace period over: closing the connections still open");
      for (const s of servers) s.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
    await Promise.all(this.upstreams.map((u) => u.destroy()));
  }
}
