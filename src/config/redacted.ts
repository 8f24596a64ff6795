import type { EffectiveConfig, EffectiveUpstream } from "./completeConfig.ts";
import { redactUrl } from "./redactUrl.ts";

/**
 * Secrets the environment gave where the file has none: the admin token (`BREAKWATER_ADMIN_TOKEN`), and
 * how many session keys (`BREAKWATER_SESSION_KEYS`).
 */
export interface SecretsFromEnv {
  readonly adminToken: boolean;
  readonly sessionKeys: number;
}

/**
 * The effective configuration as `breakwater check` prints it, secrets hidden: the admin token, the
 * session keys, a password in the Redis URL, the values of a stdio upstream's `env` (where its
 * servers' tokens live; the names stay, to show what is set), top-level or a server's; `[aggregate]`
 * holds none and is shown as it is. A secret from the environment is shown set too, naming its
 * variable, so that `check` tells what the proxy will run with.
 */
export function redacted(
  effective: EffectiveConfig,
  fromEnv: SecretsFromEnv = { adminToken: false, sessionKeys: 0 },
): EffectiveConfig {
  const hidden = (variable?: string) =>
    variable === undefined ? "(set, hidden)" : `(set from ${variable}, hidden)`;
  const server = { ...effective.server };
  if (server.admin_token !== undefined) server.admin_token = hidden();
  else if (fromEnv.adminToken) server.admin_token = hidden("BREAKWATER_ADMIN_TOKEN");
  const keys = effective.fleet.session_keys;
  const fleet = { ...effective.fleet };
  if (keys !== undefined) fleet.session_keys = keys.map(() => hidden());
  else if (fromEnv.sessionKeys > 0) {
    fleet.session_keys = Array.from({ length: fromEnv.sessionKeys }, () => hidden("BREAKWATER_SESSION_KEYS"));
  }
  if (fleet.redis_url !== undefined) fleet.redis_url = redactUrl(fleet.redis_url);
  const upstreams = effective.upstreams.map(envHidden);
  // a server's stdio upstreams hold tokens just as well (SPEC §7.1)
  const servers = effective.servers?.map((s) => ({ ...s, upstreams: s.upstreams.map(envHidden) }));
  return { ...effective, server, fleet, upstreams, ...(servers === undefined ? {} : { servers }) };
}

function envHidden(upstream: EffectiveUpstream): EffectiveUpstream {
  return upstream.env === undefined
    ? upstream
    : { ...upstream, env: Object.fromEntries(Object.keys(upstream.env).map((name) => [name, "(hidden)"])) };
}
