import type { ExchangeOutcome } from "./ExchangeJudge.ts";

/**
 * Why an upstream was charged with a failure, short and machine-readable, for the log line of the
 * failure and of the circuit it opens: a socket error code (`ECONNREFUSED`), `ENOENT` for a stdio
 * command that does not exist, `exit 3` or `signal SIGKILL` for a child process, `timeout`,
 * `answer_timeout`, `stream_cut`, `bad_response`, `status 502`, `jsonrpc -32603`, `is_error`. Built only
 * on a failure: the success path makes none.
 */
export type FailureCause = string;

/** An error that says its own cause (a child process that exited: `exit 3`, `signal SIGKILL`). */
export interface CausedError extends Error {
  readonly failureCause: FailureCause;
}

/** No response head within the request's deadline. */
export const timeoutCause = "timeout";
/** A JSON-RPC call's answer did not come within its answer deadline. */
export const answerTimeoutCause = "answer_timeout";
/** The response broke off after its head, or its event stream ended before the call's answer. */
export const streamCutCause = "stream_cut";
/** A response that cannot be passed on (an invalid status, a head node cannot write). */
export const badResponseCause = "bad_response";
/** A tool's result said `isError: true`. */
export const isErrorCause = "is_error";

/** A failure status. */
export function statusCause(status: number): FailureCause {
  return `status ${status}`;
}

/** A failing JSON-RPC error code. */
export function jsonRpcCause(code: number): FailureCause {
  return `jsonrpc ${code}`;
}

/** How a child process ended: its signal when it was killed, else its exit code. */
export function exitCause(code: number | null | undefined, signal: string | null | undefined): FailureCause {
  if (signal != null) return `signal ${signal}`;
  return code == null ? "exited" : `exit ${code}`;
}

/** Whether `outcome` charges any circuit with a failure (the upstream's, a tool's, or the whole call's). */
export function chargesFailure(outcome: ExchangeOutcome): boolean {
  if (typeof outcome === "string") return outcome === "failure";
  return outcome.upstream === "failure" || outcome.tool === "failure" || outcome.whole === "failure";
}
