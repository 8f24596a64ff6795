import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Timer, Timers } from "../../../time/Timers.ts";
import { answersModern, discoverRequest } from "./modernEra.ts";

/** The era of a stdio server, as its process answered the probe. */
export type Era = "modern" | "earlier";

/** What a probe found: an era, or a process that exited (or closed stdout) before it answered. */
export type ProbeResult = Era | "exited";

/**
 * How long a fresh process has to answer the probe. Short (research §6: the SDK's own stdio probe
 * treats a timeout as the earlier era): a server of the earlier era may stay silent before
 * `initialize`; then a fresh process is started for it. Long enough for a cold start of `npx`.
 */
export const probeTimeoutMs = 10_000;

/** The JSON-RPC id of the probe: ids of clients' calls on a process start after it. */
export const probeId = 0;

/**
 * The backward-compatibility probe of the 2026-07-28 stdio transport, asked of a process as it starts:
 * `server/discover` with the modern envelope. Modern when the answer is a `DiscoverResult` listing a
 * modern revision; the earlier era for an error (-32601 is the common one, any other too: the fallback
 * "MUST NOT be keyed to one specific error code") or for no answer within the timeout. A process that
 * exits first tells nothing of the era: it crashed, and that is a failure, as an exit before
 * `initialize` is (SPEC §5) — a crash loop opens the circuit instead of fixing the era for good.
 */
export class EraProbe {
  readonly #timers: Timers;
  #settle: ((result: ProbeResult) => void) | undefined;
  #timer: Timer | undefined;
  /** The process's answer, an error of the earlier era included: what a modern client asking is told. */
  answer: JSONRPCMessage | undefined;

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** Sends the probe with `send`; resolves once the answer, the timeout or the exit comes. */
  ask(send: (message: JSONRPCMessage) => Promise<void>, timeoutMs: number): Promise<ProbeResult> {
    return new Promise((resolve) => {
      this.#settle = resolve;
      this.#timer = this.#timers.setTimeout(() => this.#done("earlier"), timeoutMs);
      send(discoverRequest(probeId)).catch(() => this.#done("exited"));
    });
  }

  /** Whether the probe still waits: messages of the process are its answer's candidates. */
  get waiting(): boolean {
    return this.#settle !== undefined;
  }

  /** A message of the process while the probe waits: true when it was the probe's answer. */
  took(message: JSONRPCMessage): boolean {
    if (this.#settle === undefined || !("id" in message) || message.id !== probeId || "method" in message)
      return false;
    this.answer = message;
    this.#done(answersModern(message) ? "modern" : "earlier");
    return true;
  }

  /** The process exited before it answered. */
  exited(): void {
    this.#done("exited");
  }

  #done(result: ProbeResult): void {
    const settle = this.#settle;
    if (settle === undefined) return;
    this.#settle = undefined;
    this.#timers.clearTimeout(this.#timer);
    settle(result);
  }
}
