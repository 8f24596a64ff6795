import { BreakwaterError } from "./BreakwaterError.ts";
import type { CircuitState } from "./CircuitState.ts";
import { ErrorCode } from "./errorCodes.ts";

/**
 * Thrown (as a rejection) by `execute` when the circuit does not admit the call. Creating one captures
 * no stack trace: a rejection is an expected, frequent answer while a circuit is open, and a stack would
 * cost more than the whole rest of the rejection.
 *
 * @example
 * try { await breaker.execute(call); }
 * catch (error) { if (isCircuitOpenError(error)) retryLater(error.retryAfterMs); else throw error; }
 */
export class CircuitOpenError extends BreakwaterError {
  declare readonly code: typeof ErrorCode.circuitOpen;
  /** Milliseconds until the circuit will admit a probe (an estimate when forced open). */
  readonly retryAfterMs: number;
  /** The state that rejected the call: `open`, `half_open` (all probe slots taken) or `forced_open`. */
  readonly state: CircuitState;
  /** The breaker's name, as given in its options. */
  readonly circuit: string;

  constructor(circuit: string, state: CircuitState, retryAfterMs: number) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(ErrorCode.circuitOpen, `circuit "${circuit}" is ${state}; retry in ${retryAfterMs} ms`);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = "CircuitOpenError";
    this.circuit = circuit;
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Whether `error` is a {@link CircuitOpenError}, recognised by its code so that it also holds for an
 * error thrown by another copy of the package.
 */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === ErrorCode.circuitOpen
  );
}
