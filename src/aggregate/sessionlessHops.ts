import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/core/internal";
import { modernRevision } from "../health/discoverEra.ts";
import type { ClientSession, Hop } from "./contracts.ts";

// The hops that need no upstream session (SPEC §7.2: the era of each hop), and what all hops share.

/** The client's session header is never sent on: an upstream session's own, or none, goes instead. */
export const sessionHeaders = ["mcp-session-id"] as const;
/** A modern client's call to a server that serves its era: sent on as it came, balanced. */
export const passThrough: Hop = {
  bound: undefined,
  setHeaders: {},
  dropHeaders: sessionHeaders,
  metaEnvelope: undefined,
  addsResultType: false,
  sessionLost: undefined,
};
/** Who Breakwater is in the sessions it opens for modern clients; capabilities `{}`: never asked anything. */
export const breakwaterInfo = { name: "breakwater", version: "1" };

/** An earlier-era client's call to a modern-only server: its session said in 2026-07-28's `_meta` envelope. */
export function envelopeHop(client: ClientSession): Hop {
  return {
    bound: undefined,
    setHeaders: { "MCP-Protocol-Version": modernRevision },
    dropHeaders: sessionHeaders,
    metaEnvelope: {
      [PROTOCOL_VERSION_META_KEY]: modernRevision,
      [CLIENT_INFO_META_KEY]: client.initializeParams["clientInfo"] ?? breakwaterInfo,
      [CLIENT_CAPABILITIES_META_KEY]: client.initializeParams["capabilities"] ?? {},
    },
    addsResultType: false,
    sessionLost: undefined,
  };
}
