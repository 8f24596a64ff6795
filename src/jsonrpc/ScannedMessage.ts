/** One JSON-RPC message as the scanner saw it: only what judging a call needs. */
export interface ScannedMessage {
  /**
   * The `id` as the sender wrote it (its JSON text: `1`, `"caf\u00e9"`); undefined when the message had
   * none, had one that is no string, number or null, or one longer than `maxCapturedBytes`.
   */
  id: string | undefined;
  /** The message had a top-level `method`: a request or a notification, never an answer (JSON-RPC 2.0 §5). */
  request: boolean;
  /** The `method`, when it is a string of at most `maxCapturedBytes`. */
  method?: string;
  /** The message had a top-level `result`. */
  result: boolean;
  /** The `code` of a top-level `error` (NaN when it had no numeric code); undefined without an error. */
  errorCode: number | undefined;
  /** The `result` object said `"isError": true` (a tool that failed; SPEC §3.2). */
  isError: boolean;
  /** The error's `data.reason`, when it is a string (the proxy's own errors say what failed). */
  errorReason?: string;
  /**
   * The error's `data.stopped`, when it is a string: a stdio session Breakwater ended itself (deleted,
   * idle, shutdown), which answered its pending calls `upstream_exited`.
   */
  errorStopped?: string;
  /** The error's `data.exitCode` and `data.signal`: how a stdio server's process ended (for the log). */
  errorExitCode?: number;
  errorSignal?: string;
  /** `params.progressToken` as its JSON text (a progress notification's; SPEC §3.1). */
  progressToken?: string;
  /**
   * `params._meta["io.modelcontextprotocol/subscriptionId"]` as its JSON text: the listen request a
   * notification of a `subscriptions/listen` stream belongs to (MCP 2026-07-28).
   */
  subscriptionId?: string;
}

/** What the reader needs besides `result`, `error` and `method`. */
export interface ScannerWants {
  /** A result's `isError` (a tool call's). */
  readonly isError: boolean;
  /** The `id` (to match an answer to its request; a JSON body is the answer whatever its id). */
  readonly id: boolean;
  /**
   * `params.progressToken` (progress notifications on an event stream) and
   * `params._meta["io.modelcontextprotocol/subscriptionId"]` (a listen stream's acknowledgement).
   */
  readonly progress: boolean;
}

/**
 * The most bytes kept of one value (an id, a code, a reason, a progress token, a method): what makes
 * the memory of reading an answer constant whatever the answer's size. A longer id matches no request.
 */
export const maxCapturedBytes = 65_536;
