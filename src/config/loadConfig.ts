import { readFileSync } from "node:fs";
import { parse as parseToml, TomlError } from "smol-toml";
import { parseHostEntry } from "../http/HostField.ts";
import { isLoopback, type ListenAddress, parseListenAddress } from "../http/listenAddress.ts";
import { parseOriginEntry } from "../http/originEntry.ts";
import { aggregateConfig } from "./aggregateConfig.ts";
import { applyFlags, type ConfigFlags } from "./applyFlags.ts";
import type { Config } from "./Config.ts";
import { ConfigError } from "./ConfigError.ts";
import { complete, type EffectiveConfig } from "./completeConfig.ts";
import { describeIssues } from "./describeIssues.ts";
import { failureCodeMatcher } from "./failureCodes.ts";
import { redacted } from "./redacted.ts";
import { configSchema } from "./schema.ts";
import { serverConfigs } from "./serverConfig.ts";
import { parseSessionKey } from "./sessionKey.ts";
import { resolveTelemetry } from "./telemetryConfig.ts";
import { listenerTls } from "./tlsFiles.ts";

export type { EffectiveAggregate } from "./aggregateConfig.ts";
export type { ConfigFlags } from "./applyFlags.ts";
export type { EffectiveConfig, EffectiveServer, EffectiveUpstream } from "./completeConfig.ts";

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
  const telemetry = resolveTelemetry(parsed.data.telemetry, env);
  const effective = complete(parsed.data, source, telemetry.effective);
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
  const servers = serverConfigs(source, effective);
  const keys = sessionKeys(source, effective.fleet.session_keys, env["BREAKWATER_SESSION_KEYS"]);
  const config: Config = {
    listen,
    adminListen,
    adminToken,
    allowedHosts: server.allowed_hosts,
    allowedOrigins: server.allowed_origins,
    adminAllowedHosts: server.admin_allowed_hosts,
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
    upstreams: servers.flatMap((s) => s.upstreams),
    servers,
    aggregate: effective.aggregate === undefined ? undefined : aggregateConfig(effective.aggregate),
    sessionKeys: keys,
    fleet:
      effective.fleet.redis_url === undefined
        ? undefined
        : { redisUrl: new URL(effective.fleet.redis_url), name: effective.fleet.name },
    telemetry: telemetry.config,
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
