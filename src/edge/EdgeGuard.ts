import type { IncomingHttpHeaders } from "node:http";
import type { HostRule } from "./HostRule.ts";
import type { OriginRule } from "./OriginRule.ts";

/** Why the edge refused a request (the `reason` of its 403). */
export type EdgeRefusal = "forbidden_host" | "forbidden_origin";

/**
 * Who may talk to the proxy (SPEC §4.1): the `Host` rule, then the `Origin` rule for requests that
 * carry one. Checked before anything is forwarded.
 */
export class EdgeGuard {
  readonly #hosts: HostRule;
  readonly #origins: OriginRule;

  constructor(hosts: HostRule, origins: OriginRule) {
    this.#hosts = hosts;
    this.#origins = origins;
  }

  /** Why the request must be refused, or undefined when it may pass. */
  refusal(headers: IncomingHttpHeaders): EdgeRefusal | undefined {
    const host = headers.host;
    if (!this.#hosts.allows(host)) return "forbidden_host";
    const origin = headers.origin;
    if (origin !== undefined && !this.#origins.allows(origin, host)) return "forbidden_origin";
    return undefined;
  }
}
