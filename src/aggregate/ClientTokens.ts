import { randomBytes } from "node:crypto";
import { SessionSealer } from "../sessions/SessionSealer.ts";
import type { ClientSession, ClientSessions, HopPlanner } from "./contracts.ts";

/**
 * The digest an aggregate token is sealed under. No upstream can be named with a NUL, so no route's
 * `SessionTokens` knows this digest (it opens no aggregate token) and the aggregate opens no route's
 * token: the two kinds of session never cross, though they share the plane's keys.
 */
const aggregateDigest = SessionSealer.upstreamDigest("\0aggregate");

/** The most a token's payload holds (SPEC §7.2 sessions ride in the token): ~2.8 KB of header with the seal. */
export const maxPayloadBytes = 2_048;
const idBytes = 12;
/** base64url of {@link idBytes} bytes. */
const idChars = 16;
/** Capabilities kept when the client's do not fit: the ones a server's requests to the client depend on. */
const keptCapabilities = ["sampling", "elicitation", "roots"] as const;

/** Tokens opened and remembered: a client sends its token on every request, and opening costs ~15 µs. */
const cachedTokens = 2_048;
/** Sessions ended on this replica (`DELETE`), refused afterwards; past this many the oldest is forgotten. */
const endedRemembered = 16_384;

export interface ClientTokensOptions {
  /** The plane's session keys (`fleet.session_keys`, or the per-process fallback): the routes' own. */
  readonly keys: readonly Buffer[];
  /** Told when a client ends its session, to close the upstream sessions opened for it. */
  readonly hops: Pick<HopPlanner, "ended">;
}

/**
 * The aggregate's sessions of earlier-era clients (SPEC §7.2 "Sessions of earlier-era clients"), kept in
 * the client's token rather than in memory: `Mcp-Session-Id` seals a random id, the negotiated version
 * and the client's `initialize` params (capabilities and clientInfo, what an upstream session is opened
 * with), so any replica with the same keys — and a restart — serves the session.
 */
export class ClientTokens implements ClientSessions {
  readonly #sealer: SessionSealer;
  readonly #hops: Pick<HopPlanner, "ended">;
  readonly #opened = new Map<string, ClientSession>();
  readonly #ended = new Set<string>();

  constructor(options: ClientTokensOptions) {
    this.#sealer = new SessionSealer(options.keys);
    this.#hops = options.hops;
  }

  begin(
    protocolVersion: string,
    initializeParams: Readonly<Record<string, unknown>>,
  ): { readonly token: string; readonly session: ClientSession } {
    const id = randomBytes(idBytes).toString("base64url");
    const payload = cappedPayload(protocolVersion, initializeParams);
    const token = this.#sealer.seal(aggregateDigest, id + JSON.stringify(payload));
    const session = sessionOf(id, payload);
    remember(this.#opened, token, session, cachedTokens);
    return { token, session };
  }

  open(token: string): ClientSession | undefined {
    const session = this.#opened.get(token) ?? this.#unseal(token);
    return session === undefined || this.#ended.has(session.id) ? undefined : session;
  }

  end(session: ClientSession): void {
    if (this.#ended.has(session.id)) return;
    remember(this.#ended, session.id, undefined, endedRemembered);
    this.#hops.ended(session);
  }

  #unseal(token: string): ClientSession | undefined {
    const sealed = this.#sealer.open(token);
    if (sealed === undefined || sealed.upstream !== aggregateDigest) return undefined;
    const id = sealed.sessionId.slice(0, idChars);
    let payload: unknown;
    try {
      payload = JSON.parse(sealed.sessionId.slice(idChars));
    } catch {
      return undefined; // sealed by these keys, yet not ours: refused rather than trusted
    }
    if (!isPayload(payload) || id.length !== idChars) return undefined;
    const session = sessionOf(id, payload);
    remember(this.#opened, token, session, cachedTokens);
    return session;
  }
}

/** What a token seals besides the id: the version, and the `initialize` params an upstream session needs. */
interface Payload {
  readonly v: string;
  readonly c: Readonly<Record<string, unknown>>;
  readonly i: unknown;
}

/**
 * The payload of `initializeParams`, within {@link maxPayloadBytes}: whole when it fits; else with the
 * capabilities a server may ask the client about (sampling, elicitation, roots) only; else those
 * capabilities as bare names and the clientInfo's name and version cut short. A client cannot make a
 * token grow without bound.
 */
export function cappedPayload(
  protocolVersion: string,
  initializeParams: Readonly<Record<string, unknown>>,
): Payload {
  const v = protocolVersion.slice(0, 32);
  const capabilities = asObject(initializeParams["capabilities"]);
  const info = initializeParams["clientInfo"];
  const whole: Payload = { v, c: capabilities, i: info };
  if (fits(whole)) return whole;
  const kept: Record<string, unknown> = {};
  for (const key of keptCapabilities) if (key in capabilities) kept[key] = capabilities[key];
  const reduced: Payload = { v, c: kept, i: info };
  if (fits(reduced)) return reduced;
  const named: Record<string, unknown> = {};
  for (const key of Object.keys(kept)) named[key] = {};
  const infoObject = asObject(info);
  return {
    v,
    c: named,
    i: { name: text(infoObject["name"], 160), version: text(infoObject["version"], 32) },
  };
}

function fits(payload: Payload): boolean {
  return Buffer.byteLength(JSON.stringify(payload)) <= maxPayloadBytes;
}

function sessionOf(id: string, payload: Payload): ClientSession {
  const initializeParams: Record<string, unknown> = { capabilities: payload.c };
  if (payload.i !== undefined) initializeParams["clientInfo"] = payload.i;
  return { id, protocolVersion: payload.v, initializeParams };
}

function isPayload(value: unknown): value is Payload {
  const payload = value as Partial<Payload> | null;
  return (
    typeof payload === "object" &&
    payload !== null &&
    typeof payload.v === "string" &&
    typeof payload.c === "object" &&
    payload.c !== null &&
    !Array.isArray(payload.c)
  );
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown, chars: number): string {
  return typeof value === "string" ? value.slice(0, chars) : "";
}

/** Adds to a Map or Set that forgets its oldest entry past `bound` entries. */
function remember<V>(into: Map<string, V> | Set<string>, key: string, value: V, bound: number): void {
  if (into.size >= bound && !into.has(key)) {
    const oldest = into.keys().next().value as string;
    into.delete(oldest);
  }
  if (into instanceof Map) into.set(key, value);
  else into.add(key);
}
