import { readFileSync } from "node:fs";
import { parse as parseToml, TomlError } from "smol-toml";
import { parseHostEntry } from "../http/HostField.ts";
import { isLoopback, type ListenAddress, parseListenAddress } from "../http/listenAddress.ts";
import { parseOriginEntry } from "../http/originEntry.ts";
import {
  breakerDefaults,
  type EffectiveBreakerSection,
  type EffectiveHealthCheckSection,
  type EffectiveToolCircuitSection,
  healthCheckDefaults,
  toolCircuitDefaults,
} from "./breakerDefaults.ts";
import type { Config } from "./Config.ts";
import { ConfigError } from "./ConfigError.ts";
import { describeIssues } from "./describeIssues.ts";
import { failureCodeMatcher } from "./failureCodes.ts";
import { redacted } from "./redacted.ts";
import { hasCredentials, redactUrl } from "./redactUrl.ts";
import { type ConfigFile, configSchema, credentialsNotSent } from "./schema.ts";
import { parseSessionKey } from "./sessionKey.ts";
import { caFile, listenerTls } from "./tlsFiles.ts";
import { toUpstream } from "./upstreamConfig.ts";

/** What the command line adds to (or puts in place of) the file. */
export interface ConfigFlags {
  configPath?: string | undefined;
  listen?: string | undefined;
  route?: string | undefined;
  adminListen?: string | undefined;
  /** Replace the file's upstreams. */
  upstreams?: readonly string[] | undefined;
  /** `--log-level`, over `server.log_level`. */
  logLevel?: string | undefined;
}

/** One upstream's table with every default filled in. */
export type EffectiveUpstream = EffectiveConfig["upstreams"][number];

/** The validated file with every default filled in: what `breakwater check` prints. */
export type EffectiveConfig = Omit<ConfigFile, "upstreams" | "proxy"> & {
  proxy: Omit<ConfigFile["proxy"], "circuit_breaker" | "health_check"> & {
    circuit_breaker: EffectiveBreakerSection;
    health_check: EffectiveHealthCheckSection;
  };
  upstreams: (Omit<
    ConfigFile["upstreams"][number],
    "name" | "circuit_breaker" | "tool_circuit" | "health_check"
  > & {
    name: string;
    circuit_breaker: EffectiveBreakerSection;
    tool_circuit: EffectiveToolCircuitSection;
    health_check: EffectiveHealthCheckSection;
  })[];
};

/**
 * Reads, validates and completes the configuration from a file and/or flags.
 *
 * @throws {ConfigError} naming the file, the key and what is wrong.
 */
export function loadConfig(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv = process.env,
): {
  config: Config;
  effective: EffectiveConfig;
  /** Which Host rules the file left to the listen addresses (see {@link defaultHosts}). */
  hostsFollowListen: { proxy: boolean; admin: boolean };
} {
  const source = flags.configPath ?? "command line";
  const raw = flags.configPath === undefined ? {} : readToml(flags.configPath);
  applyFlags(raw, flags);
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError(describeIssues(source, parsed.error.issues, configSchema));
  const effective = complete(parsed.data, source);
  const adminToken = effective.server.admin_token ?? (env["BREAKWATER_ADMIN_TOKEN"] || undefined);
  const adminListen = parseListenAddress(effective.server.admin_listen);
  const listen = parseListenAddress(effective.server.listen);
  if (adminListen === undefined || listen === undefined)
    throw new ConfigError(`${source}: bad listen address`);
  if (!isLoopback(adminListen.host) && adminToken === undefined) {
    throw new ConfigError(
      `${source}: server.admin_listen = "${effective.server.admin_listen}" is reachable from other machines; ` +
        "set server.admin_token (or BREAKWATER_ADMIN_TOKEN) to protect circuit control, or listen on loopback",
    );
  }
  const server = effective.server;
  const hostsFollowListen = {
    proxy: server.allowed_hosts === undefined,
    admin: server.admin_allowed_hosts === undefined,
  };
  server.allowed_hosts ??= defaultHosts(listen);
  server.admin_allowed_hosts ??= defaultHosts(adminListen);
  server.allowed_origins ??= [];
  const host = (entry: string) => entry === "*" || parseHostEntry(entry);
  checkEntries(source, "server.allowed_hosts", server.allowed_hosts, host);
  checkEntries(source, "server.admin_allowed_hosts", server.admin_allowed_hosts, host);
  checkEntries(
    source,
    "server.allowed_origins",
    server.allowed_origins,
    (e) => e === "*" || parseOriginEntry(e),
  );
  const tls = listenerTls(source, server.tls_cert_file, server.tls_key_file);
  if (server.admin_tls && tls === undefined) {
    throw new ConfigError(`${source}: server.admin_tls: needs server.tls_cert_file and server.tls_key_file`);
  }
  const sharedCa =
    effective.proxy.ca_file === undefined
      ? undefined
      : caFile(source, "proxy.ca_file", effective.proxy.ca_file);
  const upstreams = effective.upstreams.map((upstream, index) => {
    const ca =
      upstream.ca_file === undefined
        ? sharedCa
        : caFile(source, `upstreams[${index}].ca_file`, upstream.ca_file);
    const insecure = upstream.tls_insecure_skip_verify ?? effective.proxy.tls_insecure_skip_verify;
    return toUpstream(upstream, { ca, insecure }, upstream.max_in_flight ?? effective.proxy.max_in_flight);
  });
  const keys = sessionKeys(source, effective.fleet.session_keys, env["BREAKWATER_SESSION_KEYS"]);
  const config: Config = {
    listen,
    route: effective.server.route,
    adminListen,
    adminToken,
    allowedHosts: server.allowed_hosts,
    allowedOrigins: server.allowed_origins,
    adminAllowedHosts: server.admin_allowed_hosts,
    publicUrl: server.public_url === undefined ? undefined : new URL(server.public_url),
    tls,
    adminTls: server.admin_tls,
    maxBodyBytes: effective.server.max_body_bytes,
    logLevel: effective.server.log_level,
    maxBufferedBytes: effective.server.max_buffered_bytes,
    requestTimeoutMs: effective.proxy.request_timeout_ms,
    readJsonRpc: effective.proxy.read_jsonrpc,
    answerTimeoutMs: effective.proxy.answer_timeout_ms,
    maxAnswerMs: effective.proxy.max_answer_ms,
    loadBalancing: effective.proxy.load_balancing,
    isFailureCode: failureCodeMatcher(effective.proxy.jsonrpc_failure_codes),
    upstreams,
    servers: [{ name: "default", route: effective.server.route, allowsTool: undefined, upstreams }],
    sessionKeys: keys,
    fleet:
      effective.fleet.redis_url === undefined
        ? undefined
        : { redisUrl: new URL(effective.fleet.redis_url), name: effective.fleet.name },
  };
  // `check` shows what the proxy runs with: secrets from the environment too, hidden
  const fromEnv = {
    adminToken: effective.server.admin_token === undefined && adminToken !== undefined,
    sessionKeys: effective.fleet.session_keys === undefined ? keys.length : 0,
  };
  return { config, hostsFollowListen, effective: redacted(effective, fromEnv) };
}

/**
 * The `Host` names a listener answers when the file names none: a loopback listener only loopback names
 * (a page on another site cannot reach it by DNS rebinding), any other any name (SPEC §4.1).
 */
export function defaultHosts(listen: ListenAddress): string[] {
  return isLoopback(listen.host) ? ["localhost", "127.0.0.1", "[::1]"] : ["*"];
}

/** Makes each entry into its rule once, so that a bad one is a config error naming its key. */
function checkEntries(
  source: string,
  key: string,
  entries: readonly string[],
  make: (entry: string) => unknown,
) {
  entries.forEach((entry, index) => {
    try {
      make(entry);
    } catch (error) {
      throw new ConfigError(`${source}: ${key}[${index}]: ${(error as Error).message}`);
    }
  });
}

function readToml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const what = error.message.split("\n")[0];
      throw new ConfigError(`${path}:${error.line}:${error.column}: invalid TOML: ${what}`, { cause: error });
    }
    throw error;
  }
}

/** Flags win over the file; `--upstream` replaces the file's upstreams. Flag values are checked here. */
function applyFlags(raw: Record<string, unknown>, flags: ConfigFlags): void {
  const section = (name: string): Record<string, unknown> => {
    const existing = raw[name];
    if (typeof existing === "object" && existing !== null && !Array.isArray(existing)) {
      return existing as Record<string, unknown>;
    }
    const created: Record<string, unknown> = {};
    raw[name] = created;
    return created;
  };
  for (const [flag, key, value] of [
    ["--listen", "listen", flags.listen],
    ["--admin-listen", "admin_listen", flags.adminListen],
  ] as const) {
    if (value === undefined) continue;
    if (parseListenAddress(value) === undefined) {
      throw new ConfigError(`${flag} "${value}": expected "host:port", e.g. "127.0.0.1:8080"`);
    }
    section("server")[key] = value;
  }
  if (flags.route !== undefined) {
    if (!/^\/[^?#\s]*$/.test(flags.route)) {
      throw new ConfigError(`--route "${flags.route}": expected a path starting with "/", without query`);
    }
    section("server")["route"] = flags.route;
  }
  if (flags.logLevel !== undefined) section("server")["log_level"] = flags.logLevel;
  if (flags.upstreams !== undefined && flags.upstreams.length > 0) {
    for (const url of flags.upstreams) {
      if (!/^https?:$/.test(URL.parse(url)?.protocol ?? "")) {
        const shown = URL.canParse(url) ? redactUrl(url) : url;
        throw new ConfigError(`--upstream "${shown}": expected an http:// or https:// URL`);
      }
      if (hasCredentials(url)) throw new ConfigError(`--upstream "${redactUrl(url)}": ${credentialsNotSent}`);
    }
    raw["upstreams"] = flags.upstreams.map((url) => ({ url }));
  }
}

/** Merges breaker sections (upstream over proxy over defaults), names upstreams, checks what spans keys. */
function complete(file: ConfigFile, source: string): EffectiveConfig {
  const shared = { ...breakerDefaults, ...defined(file.proxy.circuit_breaker) } as EffectiveBreakerSection;
  checkBreaker(shared, `${source}: proxy.circuit_breaker`);
  const sharedCheck = {
    ...healthCheckDefaults,
    ...defined(file.proxy.health_check),
  } as EffectiveHealthCheckSection;
  if (file.upstreams.length === 0) {
    throw new ConfigError(
      `${source}: no upstreams: add an [[upstreams]] table with a url (or a command), or pass --upstream URL`,
    );
  }
  const seen = new Map<string, number>();
  const upstreams = file.upstreams.map((upstream, index) => {
    if ((upstream.url === undefined) === (upstream.command === undefined)) {
      throw new ConfigError(
        `${source}: upstreams[${index}]: give either url (an HTTP server) or command (a stdio server), ` +
          `${upstream.url === undefined ? "not neither" : "not both"}`,
      );
    }
    for (const key of ["cwd", "env", "max_processes", "idle_timeout_secs"] as const) {
      if (upstream.url !== undefined && upstream[key] !== undefined)
        throw new ConfigError(`${source}: upstreams[${index}].${key}: only for a command upstream`);
    }
    const name = upstream.name ?? upstream.url ?? (upstream.command as string[]).join(" ");
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${source}: upstreams[${index}].name: "${name}" is already the name of upstreams[${earlier}]`,
      );
    }
    seen.set(name, index);
    const circuit_breaker = { ...shared, ...defined(upstream.circuit_breaker) } as EffectiveBreakerSection;
    checkBreaker(circuit_breaker, `${source}: upstreams[${index}].circuit_breaker`);
    // a tool's circuit starts from its upstream's, then what the tool sections say (SPEC §3.2)
    const tool_circuit = {
      ...circuit_breaker,
      ...toolCircuitDefaults,
      ...defined(file.proxy.tool_circuit),
      ...defined(upstream.tool_circuit),
    } as EffectiveToolCircuitSection;
    checkBreaker(tool_circuit, `${source}: upstreams[${index}].tool_circuit`);
    // a stdio upstream is checked by the processes its clients start: none of its own (README)
    const health_check = (
      upstream.command === undefined
        ? { ...sharedCheck, ...defined(upstream.health_check) }
        : { ...sharedCheck, kind: "none" }
    ) as EffectiveHealthCheckSection;
    return { ...upstream, name, circuit_breaker, tool_circuit, health_check };
  });
  return {
    ...file,
    proxy: { ...file.proxy, circuit_breaker: shared, health_check: sharedCheck },
    upstreams,
  };
}

function checkBreaker(section: EffectiveBreakerSection, where: string): void {
  const max = section.max_timeout_duration_secs;
  if (max !== undefined && max < section.timeout_duration_secs) {
    throw new ConfigError(
      `${where}.max_timeout_duration_secs: ${max} is shorter than timeout_duration_secs (${section.timeout_duration_secs})`,
    );
  }
}

/** Drops keys whose value is undefined, so that spreading does not erase a default. */
function defined<T extends object>(section: T): Partial<T> {
  return Object.fromEntries(Object.entries(section).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The session keys of the file, else of `BREAKWATER_SESSION_KEYS` (comma-separated); each checked. */
function sessionKeys(
  source: string,
  fromFile: readonly string[] | undefined,
  fromEnv: string | undefined,
): Buffer[] {
  const [where, keys] =
    fromFile !== undefined
      ? [`${source}: fleet.session_keys`, fromFile]
      : ["BREAKWATER_SESSION_KEYS", (fromEnv ?? "").split(",").filter((k) => k.trim() !== "")];
  return keys.map((key, index) => {
    try {
      return parseSessionKey(key);
    } catch (error) {
      throw new ConfigError(`${where}[${index}]: ${(error as Error).message}`);
    }
  });
}
