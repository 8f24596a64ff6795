/**
 * Every stable error code the library throws. Codes never change meaning once released; each one is
 * documented in docs/errors.md (a test keeps the two in step).
 */
export const ErrorCode = {
  /** A call was rejected because the circuit does not admit it (open, forced open, or half-open and full). */
  circuitOpen: "BREAKWATER_CIRCUIT_OPEN",
  /** A constructor option is missing its expected type or range (thrown as `TypeError`/`RangeError`). */
  invalidOption: "BREAKWATER_INVALID_OPTION",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
