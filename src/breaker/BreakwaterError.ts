import type { ErrorCode } from "./errorCodes.ts";

/**
 * Base class of the errors Breakwater throws. Each subclass sets a stable `code`; match on the code (or
 * a guard such as {@link isCircuitOpenError}) rather than on `instanceof`, which fails across two copies
 * of the package.
 */
export class BreakwaterError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BreakwaterError";
    this.code = code;
  }
}
