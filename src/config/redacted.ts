import type { EffectiveConfig } from "./loadConfig.ts";
import { redactUrl } from "./redactUrl.ts";

/**
 * The effective configuration as `breakwater check` prints it, secrets hidden: the admin token, the
 * session keys, a password in the Redis URL, the values of a stdio upstream's `env` (where its
 * servers' tokens live; the names stay, to show what is set).
 */
export function redacted(effective: EffectiveConfig): EffectiveConfig {
  const server =
    effective.server.admin_token === undefined
      ? effective.server
      : { ...effective.server, admin_token: "(set, hidden)" };
  const keys = effective.fleet.session_keys;
  const fleet = { ...effective.fleet };
  if (keys !== undefined) fleet.session_keys = keys.map(() => "(set, hidden)");
  if (fleet.redis_url !== undefined) fleet.redis_url = redactUrl(fleet.redis_url);
  const upstreams = effective.upstreams.map((upstream) =>
    upstream.env === undefined
      ? upstream
      : { ...upstream, env: Object.fromEntries(Object.keys(upstream.env).map((name) => [name, "(hidden)"])) },
  );
  return { ...effective, server, fleet, upstreams };
}
