import { z } from "zod";

/**
 * What replicas tell each other on the fleet's channel (SPEC §6.2): a circuit decision, or that a
 * replica is alive (`hello`) or leaving (`bye`). A decision names its circuit by upstream (and tool); `ms` is the time an opened
 * circuit has left, a duration rather than a moment so that replicas' clocks need not agree.
 */
export type FleetMessage = z.infer<typeof fleetMessage>;
export type CircuitDecision = Exclude<FleetMessage, { kind: "hello" | "bye" }>;

/** A tool's name: at most 128 characters (SEP-986), as the proxy makes tool circuits for. */
export const maxToolNameChars = 128;
/** A replica's id is its host name (at most 253), pid and 6 hex digits. */
const replica = z.string().min(1).max(300);

const circuit = {
  from: replica,
  upstream: z.string().min(1).max(1_024),
  tool: z.string().min(1).max(maxToolNameChars).optional(),
};

const fleetMessage = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("hello"), from: replica }),
  z.object({ kind: z.literal("bye"), from: replica }),
  // the receiver holds the time to its own circuit's limits (SharedCircuits)
  z.object({ kind: z.literal("open"), ms: z.number().positive().finite(), ...circuit }),
  z.object({ kind: z.literal("close"), ...circuit }),
  z.object({ kind: z.enum(["forced_open", "disabled", "reset"]), ...circuit }),
]);

/** A message read off the channel, or undefined for anything else (another program's, a newer form). */
export function parseFleetMessage(text: string): FleetMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = fleetMessage.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
