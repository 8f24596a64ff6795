import { FleetSigner } from "./FleetSigner.ts";
import { type FleetMessage, parseFleetMessage } from "./fleetMessages.ts";

/** Why a message off the channel (or a value of the fleet's keys) was not heard. */
export type RejectedReason = "unauthenticated" | "malformed" | "unknown_circuit";

/**
 * Fleet messages as they travel through Redis: signed JSON ({@link FleetSigner}). What arrives is
 * untrusted input: a message is read only if the fleet signed it and it says something a replica
 * would; anything else is dropped and counted by reason (`breakwater_fleet_messages_rejected_total`).
 */
export class MessageCodec {
  readonly #signer: FleetSigner;
  readonly #rejected = new Map<RejectedReason, number>();

  constructor(sessionKeys: readonly Buffer[], fleetName: string) {
    this.#signer = new FleetSigner(sessionKeys, fleetName);
  }

  /** Messages (and kept values) not heard so far, by reason. */
  get rejected(): ReadonlyMap<RejectedReason, number> {
    return this.#rejected;
  }

  encode(message: FleetMessage): string {
    return this.#signer.sign(JSON.stringify(message));
  }

  /** The message `signed` carries, or undefined (counted) when it is not the fleet's or says nothing. */
  decode(signed: string): FleetMessage | undefined {
    const text = this.#signer.open(signed);
    if (text === undefined) {
      this.reject("unauthenticated");
      return undefined;
    }
    const message = parseFleetMessage(text);
    if (message === undefined) this.reject("malformed");
    return message;
  }

  /** Counts a message not heard. */
  reject(reason: RejectedReason): void {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1);
  }
}
