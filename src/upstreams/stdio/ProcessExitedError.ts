import { type CausedError, exitCause, type FailureCause } from "../../judges/failureCause.ts";
import type { ChildExit } from "./ChildProcessTransport.ts";

/**
 * A stdio server's process exited before it answered `initialize` (or the era probe, `server/discover`):
 * the request fails (a 502), and the log names how it ended (`exit 3`, `signal SIGKILL`).
 */
export class ProcessExitedError extends Error implements CausedError {
  override readonly name = "ProcessExitedError";
  readonly failureCause: FailureCause;

  constructor(upstream: string, exit: ChildExit | undefined, question = "initialize") {
    const how = exit?.signal != null ? `signal ${exit.signal}` : `exit code ${exit?.code ?? "unknown"}`;
    super(`${upstream}: the process exited before answering ${question} (${how})`);
    this.failureCause = exitCause(exit?.code, exit?.signal);
  }
}
