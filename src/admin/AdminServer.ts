import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import { admits } from "../circuits/serverStatus.ts";
import type { ListenerTls } from "../config/tlsFiles.ts";
import type { HostRule } from "../edge/HostRule.ts";
import { httpListener } from "../http/httpListener.ts";
import { isToolName } from "../mcp/toolName.ts";
import type { ProcessSlots, Upstream } from "../upstreams/Upstream.ts";
import type { AggregateView } from "./AggregateView.ts";
import { aggregateReport } from "./aggregateReport.ts";
import { bearerTokenMatcher } from "./bearerToken.ts";
import type { CircuitActivity } from "./CircuitActivity.ts";
import { breakerReport, circuitReport, serverReport } from "./circuitReport.ts";
import { dashboardState } from "./dashboardState.ts";
import type { ProxyMetrics } from "./ProxyMetrics.ts";

export interface AdminServerOptions {
  /** The upstreams now (a reload changes them). */
  readonly upstreams: () => readonly Upstream[];
  /** Where circuit control finds a circuit by name. */
  readonly circuits: CircuitRegistry;
  /**
   * A tool's circuit, made when the operator names a tool not called (or not listed) yet; undefined
   * when it has none (SPEC §3.2: tool circuits off, or no room within `max_tools`).
   */
  readonly toolCircuit: (upstream: string, tool: string) => Circuit | undefined;
  readonly metrics: ProxyMetrics;
  readonly activity: CircuitActivity;
  /** When set, circuit control (and `GET /circuits`) needs `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /** `Host` headers the admin listener answers (DNS rebinding; SPEC §4.1). */
  readonly hosts: HostRule;
  /** Certificate and key when the admin listener speaks HTTPS (`server.admin_tls`). */
  readonly tls?: ListenerTls | undefined;
  /** The fleet's link, shown in `/health` (SPEC §6.2); undefined without a fleet. */
  readonly fleet?: FleetStatus | undefined;
  /**
   * The servers now, each with its upstreams, in config order (SPEC §7.1); a reload changes them.
   * Absent: all upstreams are one server named "default" (a config of top-level `[[upstreams]]`).
   */
  readonly servers?: (() => readonly ServerView[]) | undefined;
  /**
   * What the aggregate's merged lists hold, per server (SPEC §7.2): shown in `/health`, `/circuits`, the
   * metrics and the dashboard; undefined (or absent) while the config has no `[aggregate]`.
   */
  readonly aggregate?: (() => AggregateView | undefined) | undefined;
  /** Called after a manual circuit action (for the audit log); `tool` for a tool's circuit. */
  readonly onControl?: (upstream: string, action: CircuitAction, tool: string | undefined) => void;
}

/** A server as admin shows it: its name and its replicas (a `ServerPool` is one). */
export interface ServerView {
  readonly name: string;
  readonly upstreams: readonly Upstream[];
}

export type CircuitAction = "open" | "disable" | "reset";

/** What `/health` tells of the fleet: a `FleetLink`. */
export interface FleetStatus {
  readonly connected: boolean;
  replicasSeen(): number;
}

/** The dashboard's files, served as they are: no build step, no CDN. */
const assets = new Map(
  [
    ["/", "index.html", "text/html; charset=utf-8"],
    ["/dashboard.css", "dashboard.css", "text/css; charset=utf-8"],
    ["/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"],
  ].map(([path, file, type]) => [
    path as string,
    { body: readFileSync(new URL(`./dashboard/${file}`, import.meta.url)), type: type as string },
  ]),
);

const actions: Record<CircuitAction, (breaker: CircuitBreaker) => void> = {
  open: (b) => b.forceOpen(),
  disable: (b) => b.disable(),
  reset: (b) => b.reset(),
};

/**
 * The control plane (SPEC §2): `GET /health`, `/ready`, `/metrics` (always open), `GET /circuits` and
 * `POST /circuits/<name>/open|disable|reset` and `/circuits/<name>/tools/<tool>/…` (SPEC §3.2; behind
 * the token when one is set), and the dashboard:
 * `GET /` with its assets and the `/dashboard/state` it polls (open, like `/health`).
 */
export class AdminServer {
  readonly server: Server;
  #o: AdminServerOptions;
  #authorized: (authorization: string | undefined) => boolean;

  constructor(options: AdminServerOptions) {
    this.#o = options;
    this.#authorized = authorizer(options.token);
    const serverOptions = { headersTimeout: 10_000, requestTimeout: 30_000 };
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) json(res, 500, { error: "internal error" });
        else res.destroy();
      });
    };
    options.metrics.watchServers(() => this.#servers());
    const aggregate = options.aggregate;
    if (aggregate !== undefined) options.metrics.watchAggregate(aggregate);
    const tls = options.tls;
    this.server = httpListener(tls, serverOptions, handle);
    this.server.on("clientError", (_error, socket) => socket.destroy());
  }

  /** A reloaded token and allowed hosts (SPEC §6.3), from the next request on. */
  reconfigure(changes: Pick<AdminServerOptions, "token" | "hosts">): void {
    this.#o = { ...this.#o, ...changes };
    this.#authorized = authorizer(changes.token);
  }

  /** The servers now; without `servers`, every upstream in one server named "default". */
  #servers(): readonly ServerView[] {
    return this.#o.servers?.() ?? [{ name: "default", upstreams: this.#o.upstreams() }];
  }

  /**
   * `/circuits`: every circuit by upstream, then the upstreams grouped by server (SPEC §7.1), then what
   * the aggregate lists of each server (SPEC §7.2; absent without one). The aggregate does not change
   * `status`: that stays the circuits' own.
   */
  #circuits(upstreams: readonly Upstream[]): object {
    const aggregate = this.#o.aggregate?.();
    return {
      ...circuitReport(upstreams, this.#o.circuits),
      servers: serverReport(this.#servers()),
      ...(aggregate === undefined ? {} : { aggregate: aggregateReport(aggregate) }),
    };
  }

  #health(): object {
    const upstreams = this.#o.upstreams();
    const processes = processReport(upstreams);
    const fleet = this.#o.fleet;
    return {
      ...this.#circuits(upstreams),
      ...(processes === undefined ? {} : { processes }),
      ...(fleet === undefined
        ? {}
        : { fleet: { connected: fleet.connected, replicas_seen: fleet.replicasSeen() } }),
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // no admin endpoint reads a body
    const path = (req.url ?? "/").split("?")[0] as string;
    const method = req.method ?? "GET";
    if (!this.#o.hosts.allows(req.headers.host)) {
      return json(res, 403, { error: "Forbidden: Host not allowed", reason: "forbidden_host" });
    }
    const upstreams = this.#o.upstreams();

    const asset = assets.get(path);
    if (asset !== undefined && (method === "GET" || method === "HEAD")) {
      res.writeHead(200, {
        "content-type": asset.type,
        "cache-control": "no-cache",
        "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        "x-content-type-options": "nosniff",
      });
      res.end(method === "HEAD" ? undefined : asset.body);
      return;
    }

    if (path === "/dashboard/state") {
      const { activity, circuits, token, fleet } = this.#o;
      const state = dashboardState(upstreams, this.#servers(), circuits, activity, token !== undefined, {
        fleet,
        aggregate: this.#o.aggregate?.(),
      });
      return json(res, 200, state);
    }

    if (path === "/health" || path === "/ready" || path === "/metrics") {
      if (method !== "GET" && method !== "HEAD")
        return json(res, 405, { error: "use GET" }, { allow: "GET, HEAD" });
      if (path === "/health") return json(res, 200, this.#health());
      if (path === "/ready") {
        const ready = upstreams.some((u) => admits(u.circuit.state));
        return json(res, ready ? 200 : 503, { ready });
      }
      const text = await this.#o.metrics.registry.metrics();
      res.writeHead(200, { "content-type": this.#o.metrics.registry.contentType }).end(text);
      return;
    }

    if (path === "/circuits" || path.startsWith("/circuits/")) {
      if (!this.#authorized(req.headers.authorization)) {
        return json(res, 401, { error: "missing or wrong bearer token" }, { "www-authenticate": "Bearer" });
      }
      if (path === "/circuits") {
        if (method !== "GET") return json(res, 405, { error: "use GET" }, { allow: "GET" });
        return json(res, 200, this.#circuits(upstreams));
      }
      const match = /^\/circuits\/([^/]+)(?:\/tools\/([^/]+))?\/(open|disable|reset)$/.exec(path);
      if (!match) {
        return json(res, 404, {
          error:
            "expected /circuits/<name>/open|disable|reset or /circuits/<name>/tools/<tool>/open|disable|reset",
        });
      }
      if (method !== "POST") return json(res, 405, { error: "use POST" }, { allow: "POST" });
      // A page the operator visits could POST here (a form needs no preflight): only the admin's own
      // pages may, and those send the listener's own origin (SPEC §4.1).
      if (!isOwnOrigin(req.headers.origin, req.headers.host)) {
        return json(res, 403, { error: "Forbidden: Origin not allowed", reason: "forbidden_origin" });
      }
      const name = safeDecode(match[1] as string);
      const tool = match[2] === undefined ? undefined : safeDecode(match[2]);
      if (!upstreams.some((u) => u.name === name))
        return json(res, 404, { error: `no upstream named ${JSON.stringify(name)}` });
      if (tool !== undefined && !isToolName(tool)) {
        return json(res, 400, {
          error: "a tool name is 1 to 128 characters: letters, digits, _ - . (SEP-986)",
        });
      }
      const circuit = tool === undefined ? this.#o.circuits.get(name) : this.#o.toolCircuit(name, tool);
      if (circuit === undefined) {
        return json(res, 404, {
          error: `upstream ${JSON.stringify(name)} has no circuit for tool ${JSON.stringify(tool)} (tool circuits off, or max_tools reached by listed tools and circuits held open or disabled)`,
        });
      }
      const action = match[3] as CircuitAction;
      actions[action](circuit.breaker);
      this.#o.onControl?.(name, action, tool);
      return json(res, 200, {
        upstream: name,
        ...(tool === undefined ? {} : { tool }),
        ...breakerReport(circuit.breaker),
      });
    }

    json(res, 404, { error: "not found", endpoints: ["/", "/health", "/ready", "/metrics", "/circuits"] });
  }
}

/**
 * The processes of each upstream that runs them (stdio ones): live, busy (starting, a call in flight or
 * an open stream), and the limit (`max_processes`); undefined when no upstream runs processes.
 */
function processReport(upstreams: readonly Upstream[]): Record<string, ProcessSlots> | undefined {
  // names come from the config: defined as own properties (see circuitReport)
  const entries = upstreams.flatMap((u) =>
    u.processSlots === undefined ? [] : [[u.name, u.processSlots] as const],
  );
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { ...headers, "content-type": "application/json", "cache-control": "no-store" })
    .end(text);
}

/** Whether a request's `Authorization` may control circuits: any without a token, else the bearer's. */
function authorizer(token: string | undefined): (authorization: string | undefined) => boolean {
  return token === undefined ? () => true : bearerTokenMatcher(token);
}

/** Whether a request carries no `Origin`, or the admin listener's own (http or https, same host and port). */
function isOwnOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  const url = URL.parse(origin);
  return (
    url !== null &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.host === host?.toLowerCase()
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
