import type { Logger } from "pino";
import type { TransitionReason } from "../breaker/CircuitState.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { ChargedReport } from "../exchange/Settlement.ts";
import type { FailureCause } from "../judges/failureCause.ts";

/** The reasons of an opening that failures caused: its line names the last one's cause. */
const openedByFailures: ReadonlySet<TransitionReason> = new Set([
  "consecutive_failures",
  "failure_rate",
  "probe_failed",
]);

/** What a circuit's audit keeps: the cause of the last failure charged to it since its last change. */
interface LastFailure {
  cause: FailureCause | undefined;
}

/**
 * The audit trail: every state change of every circuit, logged once — `warn` when a circuit opens,
 * `info` otherwise — with `upstream` (and `tool`), `from`, `to`, `reason`, and for an opening that
 * failures caused, the `cause` of the last of them (`ECONNREFUSED`, `exit 3`, `status 502`). Memory:
 * one slot per circuit, let go with the circuit.
 */
export class CircuitAuditTrail {
  readonly #last = new Map<string, LastFailure>();

  constructor(circuits: CircuitRegistry, logger: Logger) {
    circuits.onCreated(({ upstream, tool, breaker }) => {
      const key = circuitKey(upstream, tool);
      const last: LastFailure = { cause: undefined };
      this.#last.set(key, last);
      const off = breaker.onStateChange(({ from, to, reason, origin }) => {
        const cause = openedByFailures.has(reason) && origin === undefined ? last.cause : undefined;
        last.cause = undefined;
        const entry = {
          upstream,
          ...(tool === undefined ? {} : { tool }),
          from,
          to,
          reason,
          ...(cause === undefined ? {} : { cause }),
          ...(origin === undefined ? {} : { origin }),
        };
        if (to === "open" || to === "forced_open") logger.warn(entry, "circuit opened");
        else logger.info(entry, "circuit state changed");
      });
      return () => {
        off();
        if (this.#last.get(key) === last) this.#last.delete(key);
      };
    });
  }

  /** A failure is charged: told before its circuits hear of it, so that an opening it causes names it. */
  charged(report: ChargedReport): void {
    const name = report.upstream.name;
    if (report.upstreamCharged) this.#remember(circuitKey(name, undefined), report.cause);
    if (report.tool !== undefined) this.#remember(circuitKey(name, report.tool), report.cause);
  }

  #remember(key: string, cause: FailureCause): void {
    const last = this.#last.get(key);
    if (last !== undefined) last.cause = cause;
  }
}

function circuitKey(upstream: string, tool: string | undefined): string {
  return tool === undefined ? upstream : `${upstream}\u0000${tool}`;
}
