import type { Config } from "../config/Config.ts";
import type { LoadedConfig } from "./ConfigReloader.ts";
import { needsRestart } from "./restartOnly.ts";

export interface SettingChanges {
  /**
   * Dotted keys outside `[[upstreams]]`, `[[servers]]` and `[aggregate]` whose value changed, applied
   * by the reload.
   */
  readonly applied: readonly string[];
  /** Dotted keys that changed but take a restart, left as they run. */
  readonly needRestart: readonly string[];
  /** What became of `[aggregate]` (SPEC §7.2), which a reload applies; absent: nothing. */
  readonly aggregate?: "added" | "removed" | "changed";
}

/**
 * What changed between two effective configurations besides the upstreams and servers (which the
 * upstream and server plans tell), as dotted keys. A certificate whose files were rewritten in place
 * shows as `server.tls_cert_file (re-read)`; TLS turned on or off as `server.tls`, which takes a restart.
 * The aggregate is told as one, like a server: added, removed or changed.
 */
export function settingChanges(before: LoadedConfig, after: LoadedConfig): SettingChanges {
  // upstreams and servers are told by their plans, by name: a server edited is not a changed key
  const { upstreams: _a, servers: _c, aggregate: wasAggregate, ...was } = before.effective;
  const { upstreams: _b, servers: _d, aggregate: nowAggregate, ...now } = after.effective;
  const aggregate =
    wasAggregate === undefined
      ? nowAggregate === undefined
        ? undefined
        : "added"
      : nowAggregate === undefined
        ? "removed"
        : JSON.stringify(wasAggregate) === JSON.stringify(nowAggregate)
          ? undefined
          : "changed";
  let changed = changedKeys(was, now, "");
  // secrets are compared as they are, not as shown ("(set, hidden)")
  if (before.config.adminToken !== after.config.adminToken && !changed.includes("server.admin_token")) {
    changed.push("server.admin_token");
  }
  const redisUrl = (c: Config) => c.fleet?.redisUrl.href;
  if (redisUrl(before.config) !== redisUrl(after.config) && !changed.includes("fleet.redis_url")) {
    changed.push("fleet.redis_url");
  }
  const keys = (c: Config) => c.sessionKeys.map((k) => k.toString("hex")).join();
  if (keys(before.config) !== keys(after.config) && !changed.includes("fleet.session_keys")) {
    changed.push("fleet.session_keys");
  }
  const tlsBefore = before.config.tls;
  const tlsAfter = after.config.tls;
  // turning TLS on or off changes the listener itself; new files for the same listener do not
  if ((tlsBefore === undefined) !== (tlsAfter === undefined)) {
    changed = [...changed.filter((k) => !k.startsWith("server.tls_")), "server.tls"];
  } else if (
    tlsBefore !== undefined &&
    tlsAfter !== undefined &&
    !changed.some((k) => k.startsWith("server.tls_")) &&
    !(tlsBefore.cert.equals(tlsAfter.cert) && tlsBefore.key.equals(tlsAfter.key))
  ) {
    changed.push("server.tls_cert_file (re-read)");
  }
  return {
    applied: changed.filter((k) => !needsRestart(k)),
    needRestart: changed.filter(needsRestart),
    ...(aggregate === undefined ? {} : { aggregate }),
  };
}

function changedKeys(a: unknown, b: unknown, path: string): string[] {
  if (isTable(a) && isTable(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedKeys(a[k], b[k], path === "" ? k : `${path}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
