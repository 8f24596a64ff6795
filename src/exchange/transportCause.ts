import type { CausedError, FailureCause } from "../judges/failureCause.ts";

/**
 * Why a request got no response, for the log: the cause an error names itself, else its error code
 * (`ECONNREFUSED`, `ENOENT`, `UND_ERR_SOCKET`), or its cause's when it wraps one. undici wraps the
 * socket's error at times: the socket's own code says more than undici's.
 */
export function transportCause(error: Error): FailureCause {
  const own = error as Partial<CausedError> & { code?: unknown; cause?: { code?: unknown } };
  if (typeof own.failureCause === "string") return own.failureCause;
  const inner = own.cause?.code;
  if (typeof inner === "string" && inner !== "") return inner;
  if (typeof own.code === "string" && own.code !== "") return own.code;
  return error.name === "Error" ? "transport_error" : error.name;
}
