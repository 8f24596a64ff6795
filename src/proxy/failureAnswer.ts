import type { ExchangeResult } from "../exchange/UpstreamExchange.ts";
import type { UpstreamFailureAnswer } from "./proxyAnswers.ts";

/**
 * What the proxy answers for an exchange that gave the client no response (SPEC §2): 504 `timeout`,
 * 503 `overloaded` (a stdio upstream at `max_processes`), 503 `proxy_resources` (the proxy's own host
 * out of descriptors or memory: retry later), 502 `session_lost` (the upstream lost a session the proxy
 * holds and no new one could be used, SPEC §7.2), else 502 `connect_failed`; undefined when the client has
 * its response already, or has gone.
 */
export function failureAnswer(result: ExchangeResult, upstream: string): UpstreamFailureAnswer | undefined {
  switch (result.kind) {
    case "responded":
    case "client_gone":
      return undefined;
    case "timeout":
      return { status: 504, reason: "timeout", upstream };
    case "failed":
      if (result.failure.overloaded)
        return { status: 503, reason: "overloaded", upstream, retryAfterMs: 1_000 };
      if (result.failure.proxyResources)
        return { status: 503, reason: "proxy_resources", upstream, retryAfterMs: 1_000 };
      return { status: 502, reason: "connect_failed", upstream };
    case "bad_response":
      return { status: 502, reason: "connect_failed", upstream };
    case "session_lost":
      return { status: 502, reason: "session_lost", upstream };
  }
}
