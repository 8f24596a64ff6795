/**
 * A reload that must not run: the proxy is shutting down, and a reload would start again what closing
 * stopped (health checks against upstreams whose connections are destroyed, opening circuits and
 * telling the fleet from a process on its way out). Logged by the reloader; nothing is changed.
 */
export class ReloadRefused extends Error {
  override readonly name = "ReloadRefused";
}
