import { parseListenAddress } from "../http/listenAddress.ts";
import { ConfigError } from "./ConfigError.ts";
import { hasCredentials, redactUrl } from "./redactUrl.ts";
import { credentialsNotSent } from "./schema.ts";
import { unreachableRoute } from "./unreachableRoute.ts";

/** What the command line adds to (or puts in place of) the file. */
export interface ConfigFlags {
  configPath?: string | undefined;
  listen?: string | undefined;
  route?: string | undefined;
  adminListen?: string | undefined;
  /**
   * `--upstream [NAME=]URL`: the replicas of one server, in place of the file's upstreams, servers and
   * aggregate.
   */
  upstreams?: readonly string[] | undefined;
  /**
   * `--server NAME=URL`: servers on `/NAME`, the same NAME again adding a replica, in place of the
   * file's upstreams and servers (SPEC §7.1).
   */
  servers?: readonly string[] | undefined;
  /**
   * `--aggregate ROUTE`: one MCP endpoint over every server on ROUTE, the other keys at their
   * defaults, in place of the file's `[aggregate]` (SPEC §7.2).
   */
  aggregate?: string | undefined;
  /** `--log-level`, over `server.log_level`. */
  logLevel?: string | undefined;
}

/**
 * A name before the URL: a URL cannot start so, as its scheme ends with ":" before any "=" — so
 * `http://h/?a=b` stays a URL.
 */
const named = /^([A-Za-z0-9_.-]+)=(.*)$/s;
const serverName = /^[a-z0-9-]{1,32}$/;

/**
 * Flags win over the file; `--upstream` or `--server` replaces the file's upstreams and servers. Flag
 * values are checked here, so that an error names the flag.
 */
export function applyFlags(raw: Record<string, unknown>, flags: ConfigFlags): void {
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
  const upstreams = flags.upstreams ?? [];
  const servers = flags.servers ?? [];
  if (servers.length > 0 && upstreams.length > 0) {
    throw new ConfigError(
      "--server and --upstream: use one (--upstream URL: the replicas of one server; --server NAME=URL: servers on their own routes)",
    );
  }
  if (flags.route !== undefined) {
    if (servers.length > 0)
      throw new ConfigError("--route: not used with --server (each server is on /NAME)");
    if (upstreams.length === 0 && raw["servers"] !== undefined) {
      throw new ConfigError(
        "--route: not used with [[servers]] (each server has its own route); give --upstream too, or drop --route",
      );
    }
    if (!/^\/[^?#\s]*$/.test(flags.route)) {
      throw new ConfigError(`--route "${flags.route}": expected a path starting with "/", without query`);
    }
    section("server")["route"] = flags.route;
  }
  if (flags.logLevel !== undefined) section("server")["log_level"] = flags.logLevel;
  if (upstreams.length > 0) {
    raw["upstreams"] = upstreams.map((value) => {
      const { name, url } = nameAndUrl("--upstream", value);
      return name === undefined ? { url } : { name, url };
    });
    delete raw["servers"];
    // the file's aggregate merges its servers, which the flag replaces with one server without a name
    delete raw["aggregate"];
  }
  if (servers.length > 0) {
    // one server per NAME, in the order first named; its upstreams take the default names NAME-1, …
    const byName = new Map<string, string[]>();
    for (const value of servers) {
      const name = named.exec(value)?.[1];
      if (name === undefined || !serverName.test(name)) {
        throw new ConfigError(
          `--server "${shown(value)}": expected NAME=URL, the NAME 1 to 32 of a-z, 0-9, '-' (e.g. --server github=http://127.0.0.1:3000/mcp)`,
        );
      }
      byName.set(name, [...(byName.get(name) ?? []), nameAndUrl("--server", value).url]);
    }
    raw["servers"] = [...byName].map(([name, urls]) => ({
      name,
      route: `/${name}`,
      upstreams: urls.map((url) => ({ url })),
    }));
    delete raw["upstreams"];
    // the file's route is the one server's of the old form, which the flags replace
    delete section("server")["route"];
  }
  if (flags.aggregate !== undefined) aggregateFlag(raw, flags.aggregate, upstreams.length > 0);
}

/** `--aggregate ROUTE` over `raw`, whose servers the other flags have settled. */
function aggregateFlag(raw: Record<string, unknown>, route: string, upstreamFlags: boolean): void {
  if (upstreamFlags) {
    throw new ConfigError(
      "--aggregate: not used with --upstream (the replicas of one server without a name); give each server as --server NAME=URL",
    );
  }
  if (raw["servers"] === undefined) {
    throw new ConfigError(
      "--aggregate: needs servers to merge: --server NAME=URL, or [[servers]] in the file",
    );
  }
  if (!/^\/[^?#\s]*$/.test(route)) {
    throw new ConfigError(`--aggregate "${route}": expected a path starting with "/", without query`);
  }
  const unreachable = unreachableRoute(route);
  if (unreachable !== undefined) throw new ConfigError(`--aggregate "${route}": ${unreachable}`);
  raw["aggregate"] = { route };
}

/** `[NAME=]URL`, the URL checked: http(s), no credentials (they would not be sent). */
function nameAndUrl(flag: string, value: string): { name: string | undefined; url: string } {
  const match = named.exec(value);
  const [name, url] = match === null ? [undefined, value] : [match[1], match[2] as string];
  if (!/^https?:$/.test(URL.parse(url)?.protocol ?? "")) {
    throw new ConfigError(`${flag} "${shown(value)}": expected an http:// or https:// URL`);
  }
  if (hasCredentials(url)) throw new ConfigError(`${flag} "${shown(value)}": ${credentialsNotSent}`);
  return { name, url };
}

/** A flag's value as it may be shown: a password in its URL hidden. */
function shown(value: string): string {
  const match = named.exec(value);
  const [prefix, url] = match === null ? ["", value] : [`${match[1]}=`, match[2] as string];
  return URL.canParse(url) ? `${prefix}${redactUrl(url)}` : value;
}
