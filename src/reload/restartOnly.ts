import type { Config } from "../config/Config.ts";
import { defaultHosts } from "../config/loadConfig.ts";
import type { LoadedConfig } from "./ConfigReloader.ts";

/**
 * Keys a running proxy cannot take on: its listeners, its link to the fleet and its telemetry (the
 * OpenTelemetry SDK, its exporters and its sampler, SPEC §9) are made once. `server.tls` stands for TLS
 * turned on or off (new files for the same listener are applied); `telemetry` for any key of it, and for
 * telemetry turned on or off.
 */
const restartOnly = [
  "server.listen",
  "server.admin_listen",
  "server.admin_tls",
  "server.tls",
  "fleet.redis_url",
  "fleet.name",
  "telemetry",
] as const;

/** Whether a changed dotted key takes a restart. */
export function needsRestart(key: string): boolean {
  return restartOnly.some((k) => key === k || key.startsWith(`${k}.`));
}

/**
 * What runs once `next` is applied to what ran: `next`, but for the restart-only keys, which keep their
 * running values, and the Host rules that follow them (a listener still on loopback keeps answering
 * loopback names only). The reloader compares each new file with this, so that a key left for a
 * restart is named again on every reload until the file matches what runs, and putting it back is no
 * change.
 */
export function whatRuns(running: LoadedConfig, next: LoadedConfig): LoadedConfig {
  const was = running.effective;
  const now = next.effective;
  const tlsFlips = (running.config.tls === undefined) !== (next.config.tls === undefined);
  const follow = next.hostsFollowListen;
  const allowedHosts = follow?.proxy ? defaultHosts(running.config.listen) : next.config.allowedHosts;
  const adminAllowedHosts = follow?.admin
    ? defaultHosts(running.config.adminListen)
    : next.config.adminAllowedHosts;
  const server = {
    ...now.server,
    allowed_hosts: [...allowedHosts],
    admin_allowed_hosts: [...adminAllowedHosts],
    listen: was.server.listen,
    admin_listen: was.server.admin_listen,
    admin_tls: was.server.admin_tls,
    ...(tlsFlips ? { tls_cert_file: was.server.tls_cert_file, tls_key_file: was.server.tls_key_file } : {}),
  };
  const fleet = { ...now.fleet, redis_url: was.fleet.redis_url, name: was.fleet.name };
  const { telemetry: _next, ...nowWithoutTelemetry } = now;
  const effective = {
    ...nowWithoutTelemetry,
    server,
    fleet,
    ...(was.telemetry === undefined ? {} : { telemetry: was.telemetry }),
  };
  const config: Config = {
    ...next.config,
    listen: running.config.listen,
    adminListen: running.config.adminListen,
    adminTls: running.config.adminTls,
    allowedHosts,
    adminAllowedHosts,
    tls: tlsFlips ? running.config.tls : next.config.tls,
    fleet: running.config.fleet,
    telemetry: running.config.telemetry,
  };
  return { ...next, config, effective };
}
