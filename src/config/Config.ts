import type { CircuitBreakerOptions } from "../breaker/CircuitBreakerOptions.ts";
import type { ListenAddress } from "../http/listenAddress.ts";
import type { LogLevel } from "./schema.ts";
import type { ListenerTls, UpstreamTls } from "./tlsFiles.ts";

/** One upstream, ready to use: its breaker options and which statuses count as failures. */
export interface UpstreamConfig {
  readonly name: string;
  /** Where an HTTP upstream is; undefined for a stdio one. */
  readonly url: URL | undefined;
  /** The program a stdio upstream runs, one process per MCP session (SPEC §5); undefined for a url one. */
  readonly stdio: StdioConfig | undefined;
  readonly breaker: CircuitBreakerOptions;
  /** Whether a response status counts as a failure for the breaker. */
  readonly isFailureStatus: (status: number) => boolean;
  /** How an `https://` upstream's certificate is checked. */
  readonly tls: UpstreamTls;
  /** Requests in flight at once beyond which the upstream is skipped (SPEC §3.4); 0: unlimited. */
  readonly maxInFlight: number;
  /** Circuits per tool of this upstream (SPEC §3.2). */
  readonly toolCircuit: ToolCircuitConfig;
  /** Active health checks (SPEC §3.3); `kind: "none"` when off. */
  readonly healthCheck: HealthCheckConfig;
}

export interface StdioConfig {
  /** The program and its arguments. */
  readonly command: readonly [string, ...string[]];
  readonly cwd: string | undefined;
  /** Added to the minimal environment (PATH, HOME, LANG): nothing else of the proxy's own is passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** Live processes (sessions) at once; beyond it, 503 overloaded. */
  readonly maxProcesses: number;
  /** A session unused this long is ended and its process stopped. */
  readonly idleTimeoutMs: number;
}

export interface ToolCircuitConfig {
  readonly enabled: boolean;
  /** Tool circuits kept at most; calls to further tools share the upstream's circuit only. */
  readonly maxTools: number;
  /** Options of each tool circuit (its `name` is set per tool). */
  readonly breaker: CircuitBreakerOptions;
}

export interface HealthCheckConfig {
  readonly kind: "mcp" | "http" | "none";
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** For `"http"`: the path on the upstream's origin. */
  readonly path: string;
}

/** The whole configuration, validated and with every default applied. */
export interface Config {
  readonly listen: ListenAddress;
  readonly adminListen: ListenAddress;
  readonly adminToken: string | undefined;
  /** `Host` headers the proxy listener answers: names with optional ports, or "*" (SPEC §4.1). */
  readonly allowedHosts: readonly string[];
  /** Browser origins allowed besides the request's own host and, on loopback, loopback origins. */
  readonly allowedOrigins: readonly string[];
  /** `Host` headers the admin listener answers. */
  readonly adminAllowedHosts: readonly string[];
  /** Certificate and key when the proxy listener speaks HTTPS. */
  readonly tls: ListenerTls | undefined;
  /** Whether the admin listener speaks HTTPS too, with the same certificate. */
  readonly adminTls: boolean;
  readonly maxBodyBytes: number;
  /** The least level logged (`server.log_level`, `--log-level`); a reload applies a new one. */
  readonly logLevel: LogLevel;
  /** Request bodies held in memory at once, all clients together; beyond it, 503. */
  readonly maxBufferedBytes: number;
  readonly requestTimeoutMs: number;
  /**
   * Whether POSTed JSON-RPC is read (SPEC §3: calls judged by their answers, tool circuits, routing
   * headers checked); false judges every exchange by its status, as for a plain HTTP service.
   */
  readonly readJsonRpc: boolean;
  /** After the head, the longest wait for a JSON-RPC call's answer (0: none); progress restarts it. */
  readonly answerTimeoutMs: number;
  /** A JSON-RPC call's whole time at most, whatever its progress (0: none). */
  readonly maxAnswerMs: number;
  readonly loadBalancing: "round_robin" | "failover";
  /** Whether a JSON-RPC error code counts as a failure (`proxy.jsonrpc_failure_codes`, SPEC §3.1). */
  readonly isFailureCode: (code: number) => boolean;
  /** Every server's upstreams, in file order (each name unique across all servers). */
  readonly upstreams: readonly UpstreamConfig[];
  /**
   * The MCP servers behind the proxy (SPEC §7.1), in file order. The old form (top-level
   * `[[upstreams]]` and `server.route`) is one server named "default" on `server.route`.
   */
  readonly servers: readonly ServerConfig[];
  /** One MCP endpoint over many servers (SPEC §7.2); undefined: no aggregate. */
  readonly aggregate?: AggregateConfig | undefined;
  /** Keys that seal session tokens (SPEC §6.1), the first sealing; none: a random key per process. */
  readonly sessionKeys: readonly Buffer[];
  /** Circuits shared with the other replicas through Redis (SPEC §6.2); undefined: local circuits only. */
  readonly fleet: FleetConfig | undefined;
  /**
   * Traces and MCP metrics over OTLP (SPEC §9), from `[telemetry]` and the standard `OTEL_*` variables;
   * undefined: no endpoint anywhere, or `OTEL_SDK_DISABLED=true`: telemetry off (no telemetry code is even
   * loaded).
   */
  readonly telemetry?: TelemetryConfig | undefined;
}

/** A server's `tools` filter as written: globs over its own tool names (SPEC §7.1). */
export interface ToolGlobs {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

/** One MCP server: a named pool of replicas, on a route of its own (SPEC §7.1). */
export interface ServerConfig {
  /** 1–32 of [a-z0-9-]; "default" for the old form. */
  readonly name: string;
  /** Where clients reach it alone; undefined: only through the aggregate (SPEC §7.2). */
  readonly route: string | undefined;
  /**
   * Where clients reach it (`server.public_url`: the old form's is the server's own URL, the servers
   * form's is the proxy's root, joined with the route); undefined: scheme + `Host` + route per request.
   */
  readonly publicUrl: URL | undefined;
  /** The `tools` filter over the server's own tool names; undefined: every tool (no filter at all). */
  readonly allowsTool: ((tool: string) => boolean) | undefined;
  /** The globs `allowsTool` was made of, as written (a reload tells an edit of them); undefined: none. */
  readonly tools: ToolGlobs | undefined;
  /** Its replicas, in file order, with the server's overrides of `[proxy.*]` already merged in. */
  readonly upstreams: readonly UpstreamConfig[];
}

/** `[aggregate]`: one MCP endpoint whose lists merge its servers' and whose calls reach them by prefix. */
export interface AggregateConfig {
  /** Where clients reach it; overlaps no server's route. */
  readonly route: string;
  /** The names of the servers it merges, in file order of `[[servers]]` (not of `aggregate.servers`). */
  readonly servers: readonly string[];
  /** Between a server's name and its own names: 1–2 of `_`, `-`, `.`; default "__". */
  readonly separator: string;
  /** How long an unavailable server's last good lists stay in the merged ones (0: dropped at once). */
  readonly graceMs: number;
  /** How long a list waits for a server before answering without its fresh list. */
  readonly listTimeoutMs: number;
}

/** Where traces and metrics go and what is sampled (SPEC §9); each key resolved from file, then `OTEL_*`. */
export interface TelemetryConfig {
  /**
   * Where telemetry goes, as configured: the OTLP/HTTP base URL, `telemetry.otlp_endpoint`, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT`; with only `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, that (full) URL.
   * For messages: the exporters are given {@link tracesUrl} and {@link metricsUrl}.
   */
  readonly otlpEndpoint: string;
  /**
   * The URL spans are sent to, for the trace exporter's `url`: the file's base + `/v1/traces`, else
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
   * (An exporter's `url` option wins over every variable, so it is resolved here.) Headers, timeouts,
   * compression and certificates (`OTEL_EXPORTER_OTLP_HEADERS`…) are read by the exporters themselves.
   */
  readonly tracesUrl: string;
  /**
   * The URL metrics are sent to, likewise (`/v1/metrics`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`);
   * undefined: no OTLP metric exporter (only a traces endpoint is set), the histograms only on `/metrics`.
   */
  readonly metricsUrl: string | undefined;
  /** `service.name` of what is exported: `telemetry.service_name`, else `OTEL_SERVICE_NAME`, else "breakwater". */
  readonly serviceName: string;
  /**
   * Root requests sampled, 0–1 (a sampled parent is always followed): `telemetry.sample_ratio`, else
   * what `OTEL_TRACES_SAMPLER` (`[parentbased_]traceidratio` with `OTEL_TRACES_SAMPLER_ARG`,
   * `[parentbased_]always_on`/`_off`) asks for, else 1.
   */
  readonly sampleRatio: number;
}

export interface FleetConfig {
  readonly redisUrl: URL;
  /** The fleet's name: the prefix of its Redis keys and channel, so that fleets can share a server. */
  readonly name: string;
}
