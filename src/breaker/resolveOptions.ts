import type { CircuitBreakerOptions, Verdict } from "./CircuitBreakerOptions.ts";
import type { Clock } from "./Clock.ts";
import { monotonicClock } from "./Clock.ts";
import { ErrorCode } from "./errorCodes.ts";

/** The options with every default filled in and every value checked. */
export interface ResolvedOptions {
  readonly name: string;
  readonly failureThreshold: number;
  readonly failureRateThreshold: number;
  readonly windowDuration: number;
  readonly minimumRequests: number;
  readonly openDuration: number;
  readonly successThreshold: number;
  readonly halfOpenMaxConcurrent: number;
  readonly maxOpenDuration: number;
  /** `Infinity` when slow calls are not judged. */
  readonly slowCallDuration: number;
  readonly isFailure: ((error: unknown) => Verdict) | undefined;
  readonly isResultFailure: ((value: unknown) => Verdict) | undefined;
  readonly probeGate: (() => boolean) | undefined;
  readonly halfOpenProbesOnly: boolean;
  readonly clock: Clock;
}

const known = new Set<string>([
  "name",
  "failureThreshold",
  "failureRateThreshold",
  "windowDuration",
  "minimumRequests",
  "openDuration",
  "successThreshold",
  "halfOpenMaxConcurrent",
  "maxOpenDuration",
  "slowCallDuration",
  "isFailure",
  "isResultFailure",
  "probeGate",
  "halfOpenProbesOnly",
  "clock",
]);

/**
 * Fills in defaults and checks every option once, at construction, so that nothing is checked on the
 * hot path.
 *
 * @throws {TypeError} an option of the wrong type, or an unknown option (code `BREAKWATER_INVALID_OPTION`).
 * @throws {RangeError} a number out of its range (code `BREAKWATER_INVALID_OPTION`).
 */
export function resolveOptions(options: CircuitBreakerOptions = {}): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw invalid(TypeError, "options", options, "an object");
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw Object.assign(new TypeError(`breakwater: unknown option "${key}"`), {
        code: ErrorCode.invalidOption,
        option: key,
      });
    }
  }
  const openDuration = duration(options, "openDuration", 30_000);
  const slowCallDuration =
    options.slowCallDuration === undefined ? Infinity : duration(options, "slowCallDuration", 0);
  const resolved: ResolvedOptions = {
    name: string(options, "name", "circuit"),
    failureThreshold: count(options, "failureThreshold", 5, true),
    failureRateThreshold: rate(options, "failureRateThreshold", 0.5),
    windowDuration: duration(options, "windowDuration", 60_000),
    minimumRequests: count(options, "minimumRequests", 10, true),
    openDuration,
    successThreshold: count(options, "successThreshold", 3, false),
    halfOpenMaxConcurrent: count(options, "halfOpenMaxConcurrent", 1, false),
    maxOpenDuration: duration(options, "maxOpenDuration", openDuration),
    slowCallDuration,
    isFailure: callback(options, "isFailure"),
    isResultFailure: callback(options, "isResultFailure"),
    probeGate: callback(options, "probeGate"),
    halfOpenProbesOnly: flag(options, "halfOpenProbesOnly", false),
    clock: clock(options.clock),
  };
  if (resolved.maxOpenDuration < openDuration) {
    throw invalid(
      RangeError,
      "maxOpenDuration",
      resolved.maxOpenDuration,
      `≥ openDuration (${openDuration})`,
    );
  }
  return resolved;
}

type Key = keyof CircuitBreakerOptions;

function number(options: CircuitBreakerOptions, key: Key, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) throw invalid(TypeError, key, value, "a number");
  return value;
}

function count(options: CircuitBreakerOptions, key: Key, fallback: number, infinityAllowed: boolean): number {
  const value = number(options, key, fallback);
  if (infinityAllowed && value === Infinity) return value;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalid(RangeError, key, value, infinityAllowed ? "an integer ≥ 1, or Infinity" : "an integer ≥ 1");
  }
  return value;
}

function duration(options: CircuitBreakerOptions, key: Key, fallback: number): number {
  const value = number(options, key, fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw invalid(RangeError, key, value, "a finite number of ms > 0");
  return value;
}

function rate(options: CircuitBreakerOptions, key: Key, fallback: number): number {
  const value = number(options, key, fallback);
  if (!(value > 0 && value <= 1)) throw invalid(RangeError, key, value, "a number in (0, 1]");
  return value;
}

function string(options: CircuitBreakerOptions, key: Key, fallback: string): string {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw invalid(TypeError, key, value, "a string");
  return value;
}

function flag(options: CircuitBreakerOptions, key: Key, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalid(TypeError, key, value, "a boolean");
  return value;
}

function callback<K extends "isFailure" | "isResultFailure" | "probeGate">(
  options: CircuitBreakerOptions,
  key: K,
): CircuitBreakerOptions[K] {
  const value = options[key];
  if (value !== undefined && typeof value !== "function") throw invalid(TypeError, key, value, "a function");
  return value;
}

function clock(value: unknown): Clock {
  if (value === undefined) return monotonicClock;
  if (typeof value !== "object" || value === null || typeof (value as Clock).now !== "function") {
    throw invalid(TypeError, "clock", value, "an object with a now() method");
  }
  return value as Clock;
}

/** Builds the error for one bad option: its name, what was given, and what is expected. */
function invalid(
  Kind: typeof TypeError | typeof RangeError,
  option: string,
  value: unknown,
  expected: string,
): TypeError {
  const shown =
    typeof value === "string"
      ? JSON.stringify(value)
      : typeof value === "object" && value !== null
        ? (value.constructor?.name ?? "object")
        : String(value);
  const error = new Kind(`breakwater: option "${option}" must be ${expected}, got ${shown}`);
  return Object.assign(error, { code: ErrorCode.invalidOption, option });
}
