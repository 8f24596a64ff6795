import { z } from "zod";
import { parseListenAddress } from "../http/listenAddress.ts";
import { duration } from "./duration.ts";
import { otlpEndpointProblem } from "./otlpEndpoint.ts";
import { hasCredentials } from "./redactUrl.ts";
import { unreachableRoute } from "./unreachableRoute.ts";

/**
 * The TOML configuration of SPEC §2: every key, its type, range and default. Objects are strict, so
 * an unknown key (a typo) is refused rather than ignored. Every duration key (`…_ms`, `…_secs`) is a
 * {@link duration}, bounded by what node's timers hold.
 */

const statusClass = z.string().regex(/^[1-5]xx$/, 'expected a status code or a class such as "5xx"');
const status = z.int().min(100).max(599);

/** `[proxy.circuit_breaker]` and `[upstreams.circuit_breaker]`: every key optional, merged later. */
export const breakerSection = z.strictObject({
  failure_threshold: z.int().min(1).optional(),
  failure_rate_threshold: z.number().gt(0).lte(1).optional(),
  window_duration_secs: duration("secs").optional(),
  timeout_duration_secs: duration("secs").optional(),
  success_threshold: z.int().min(1).optional(),
  minimum_requests: z.int().min(1).optional(),
  half_open_max_requests: z.int().min(1).max(10_000).optional(),
  max_timeout_duration_secs: duration("secs").optional(),
  slow_call_duration_ms: duration("ms").optional(),
  failure_statuses: z.array(z.union([status, statusClass])).optional(),
});

/** `[proxy.tool_circuit]` and `[upstreams.tool_circuit]`: breaker keys over the upstream's, and more. */
export const toolCircuitSection = breakerSection.extend({
  enabled: z.boolean().optional(),
  max_tools: z.int().min(0).optional(),
});

/** `[proxy.health_check]` and `[upstreams.health_check]` (SPEC §3.3): every key optional, merged later. */
export const healthCheckSection = z.strictObject({
  kind: z.enum(["mcp", "http", "none"]).optional(),
  interval_secs: duration("secs").optional(),
  timeout_ms: duration("ms", { whole: true }).optional(),
  path: z
    .string()
    .regex(/^\/[^#\s]*$/, 'expected a path starting with "/"')
    .optional(),
});

/** `server.log_level` and `--log-level`: pino's levels, `silent` logging nothing. */
export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

const listen = z.string().refine((text) => parseListenAddress(text) !== undefined, {
  message: 'expected "host:port", e.g. "127.0.0.1:8080"',
});

/**
 * Said of `user:password@` in an http(s) URL of the config. Requests to an upstream are sent to its
 * URL's origin, so such credentials would never be sent: refused rather than silently dropped.
 */
export const credentialsNotSent =
  'credentials in the URL are not sent: remove "user:password@" (a client\'s own Authorization header is forwarded as sent)';

const httpUrl = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .refine((text) => !hasCredentials(text), credentialsNotSent);

/** `server.route`, `servers[].route`: where clients reach the proxy (or a server), as a path prefix. */
const routePath = z
  .string()
  .regex(/^\/[^?#\s]*$/, 'expected a path starting with "/", without query')
  .refine((route) => unreachableRoute(route) === undefined, {
    error: (issue) => unreachableRoute(issue.input as string) ?? "",
  });

/** `[[upstreams]]` and `[[servers.upstreams]]`: one replica, over HTTP or stdio. */
const upstreamTable = z.strictObject({
  name: z.string().min(1).optional(),
  // one of url and command (SPEC §5): checked by complete, which names the upstream
  url: httpUrl.optional(),
  command: z.array(z.string().min(1)).min(1, "expected a program and its arguments").optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  max_processes: z.int().min(1).optional(),
  idle_timeout_secs: duration("secs").optional(),
  ca_file: z.string().min(1).optional(),
  tls_insecure_skip_verify: z.boolean().optional(),
  max_in_flight: z.int().min(0).optional(),
  circuit_breaker: breakerSection.prefault({}),
  tool_circuit: toolCircuitSection.prefault({}),
  health_check: healthCheckSection.prefault({}),
});

/**
 * A glob over a server's own tool names: `*` any run of characters, `?` one. The other characters are
 * those of MCP tool names (SEP-986), so that a glob cannot be mistaken for another syntax.
 */
const toolGlob = z
  .string()
  .regex(/^[A-Za-z0-9_.\-*?]{1,128}$/, "expected 1 to 128 of A-Z, a-z, 0-9, '_', '.', '-', '*', '?'");

/** A server's name: the prefix of its names in the aggregate (SPEC §7.1). */
const serverName = z.string().regex(/^[a-z0-9-]{1,32}$/, "expected 1 to 32 of a-z, 0-9, '-'");

/** `[[servers]]` (SPEC §7.1): a named pool of replicas on its route, its overrides of `[proxy.*]`. */
const serverTable = z.strictObject({
  name: serverName,
  route: routePath.optional(),
  tools: z
    .strictObject({ include: z.array(toolGlob).min(1).optional(), exclude: z.array(toolGlob).optional() })
    .optional(),
  circuit_breaker: breakerSection.prefault({}),
  tool_circuit: toolCircuitSection.prefault({}),
  health_check: healthCheckSection.prefault({}),
  max_in_flight: z.int().min(0).optional(),
  // at least one: checked by complete, which says how to add one
  upstreams: z.array(upstreamTable).default([]),
});

/**
 * `[aggregate]` (SPEC §7.2): one MCP endpoint over the servers. The separator's characters are those of
 * MCP tool names (SEP-986) that no server name holds but `-`; what spans tables (the servers named, the
 * route against theirs, names read two ways) is checked by complete.
 */
const aggregateTable = z.strictObject({
  route: routePath,
  servers: z.array(serverName).min(1).optional(),
  separator: z
    .string()
    .regex(/^[-_.]{1,2}$/, "expected 1 or 2 of '_', '-', '.'")
    .default("__"),
  grace_secs: z.int().min(0).max(86_400).default(60),
  list_timeout_ms: z.int().min(1).max(600_000).default(2000),
});

/**
 * `[telemetry]` (SPEC §9): every key optional, for each falls back on its `OTEL_*` variable (see
 * telemetryConfig.ts, which also applies the defaults).
 */
const telemetryTable = z.strictObject({
  otlp_endpoint: z
    .string()
    .refine((text) => otlpEndpointProblem(text, "base") === undefined, {
      error: (issue) => otlpEndpointProblem(issue.input as string, "base") ?? "",
    })
    .optional(),
  service_name: z
    .string()
    .refine((name) => name.trim() !== "", "expected a name (the service.name of every span and metric)")
    .optional(),
  sample_ratio: z
    .number()
    .min(0, "expected a ratio from 0 to 1 (of the traces started here; a sampled parent is always followed)")
    .max(1, "expected a ratio from 0 to 1 (of the traces started here; a sampled parent is always followed)")
    .optional(),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      listen: listen.default("127.0.0.1:8080"),
      // "/" when absent in the old form (filled in by complete); with [[servers]] each server has its own
      route: routePath.optional(),
      admin_listen: listen.default("127.0.0.1:9901"),
      max_body_bytes: z.int().min(1).default(4_194_304),
      max_buffered_bytes: z.int().min(1).default(268_435_456),
      admin_token: z.string().min(1).optional(),
      // defaults depend on the listen addresses: filled in by loadConfig (SPEC §4.1)
      allowed_hosts: z.array(z.string().min(1)).optional(),
      allowed_origins: z.array(z.string().min(1)).optional(),
      admin_allowed_hosts: z.array(z.string().min(1)).optional(),
      public_url: httpUrl.optional(),
      tls_cert_file: z.string().min(1).optional(),
      tls_key_file: z.string().min(1).optional(),
      admin_tls: z.boolean().default(false),
      log_level: z.enum(logLevels).default("info"),
    })
    .prefault({}),
  proxy: z
    .strictObject({
      request_timeout_ms: duration("ms", { whole: true }).default(30_000),
      load_balancing: z.enum(["round_robin", "failover"]).default("round_robin"),
      ca_file: z.string().min(1).optional(),
      tls_insecure_skip_verify: z.boolean().default(false),
      max_in_flight: z.int().min(0).default(0),
      jsonrpc_failure_codes: z
        .array(
          z.union([
            z.int(),
            z.string().regex(/^-?\d+\.\.-?\d+$/, 'expected a code or a range such as "-32000..-32019"'),
          ]),
        )
        .default([-32603, "-32000..-32019"]),
      read_jsonrpc: z.boolean().default(true),
      answer_timeout_ms: duration("ms", { whole: true, zeroMeansNone: true }).default(300_000),
      max_answer_ms: duration("ms", { whole: true, zeroMeansNone: true }).default(3_600_000),
      circuit_breaker: breakerSection.prefault({}),
      tool_circuit: toolCircuitSection.prefault({}),
      health_check: healthCheckSection.prefault({}),
    })
    .prefault({}),
  fleet: z
    .strictObject({
      // 32 bytes each, base64 or hex: checked by loadConfig, which names the entry
      session_keys: z.array(z.string().min(1)).min(1).optional(),
      // shared circuits (SPEC §6.2): unset, each replica's circuits are its own
      redis_url: z.url({ protocol: /^rediss?$/, error: "expected a redis:// or rediss:// URL" }).optional(),
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, "expected 1 to 64 letters, digits, '_', '.' or '-'")
        .default("breakwater"),
    })
    .prefault({}),
  upstreams: z.array(upstreamTable).default([]),
  // SPEC §7.1: absent in the old form (top-level [[upstreams]], one server); checked by complete
  servers: z.array(serverTable).min(1).optional(),
  // SPEC §7.2: absent, no aggregate; needs [[servers]] (checked by complete)
  aggregate: aggregateTable.optional(),
  // SPEC §9: absent, telemetry is still on when an OTEL_EXPORTER_OTLP_*ENDPOINT variable is set
  telemetry: telemetryTable.optional(),
});

/** The file as validated, before defaults of the breaker sections are merged. */
export type ConfigFile = z.output<typeof configSchema>;
export type BreakerSection = z.output<typeof breakerSection>;
export type ToolCircuitSection = z.output<typeof toolCircuitSection>;
export type HealthCheckSection = z.output<typeof healthCheckSection>;
export type UpstreamTable = z.output<typeof upstreamTable>;
export type ServerTable = z.output<typeof serverTable>;
export type AggregateTable = z.output<typeof aggregateTable>;
export type TelemetryTable = z.output<typeof telemetryTable>;
