import { admits } from "../circuits/serverStatus.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import type { ResponseSink, TransportControls, Upstream } from "../upstreams/Upstream.ts";
import { ownRequest } from "./PoolClient.ts";

/** How long a session's `DELETE` may take before it is let go. */
const endTimeoutMs = 5_000;

/**
 * Ends a session Breakwater opened on `upstream` and no longer needs (an earlier-era client's that
 * ended or went idle, one evicted from the table): an HTTP `DELETE` carrying its headers, as MCP's
 * session management asks of a client leaving (a stdio upstream stops the session's process). Best
 * effort, and neutral: no circuit permit is taken or charged — an upstream whose circuit does not
 * admit is not asked, and whatever comes back (or nothing, within 5 s) is let go.
 */
export function endUpstreamSession(
  upstream: Upstream,
  headers: Readonly<Record<string, string>>,
  timers: Timers = systemTimers,
): Promise<void> {
  if (!admits(upstream.circuit.state)) return Promise.resolve();
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value);
  const request = ownRequest("DELETE", rawHeaders, undefined);
  return new Promise((resolve) => {
    let controls: TransportControls | undefined;
    const timer = timers.setTimeout(() => {
      controls?.abort(new Error("session DELETE timed out"));
      resolve();
    }, endTimeoutMs);
    const done = () => {
      timers.clearTimeout(timer);
      resolve();
    };
    const sink: ResponseSink = {
      start: (given) => {
        controls = given;
      },
      head: () => {},
      data: () => {},
      end: done,
      error: done,
    };
    upstream.dispatch(request, sink);
  });
}
