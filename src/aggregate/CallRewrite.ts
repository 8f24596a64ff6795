import type { IncomingHttpHeaders } from "node:http";
import { PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/core/internal";
import {
  applySplices,
  type JsonPath,
  type Splice,
  soleMember,
  stringAt,
  valuesAt,
} from "../jsonrpc/jsonPaths.ts";
import { envelopeSplice } from "../jsonrpc/metaEnvelope.ts";
import type { Hop } from "./contracts.ts";

/**
 * A client's call on its way from the aggregate to one server (SPEC §7.2): the prefix off the name or
 * URI it names, in the body and in `Mcp-Name`, and the hop's headers and `_meta` envelope. The body is
 * changed by splicing that one string (and the envelope) in: ids, arguments and every other byte stay
 * as the client wrote them.
 */

/** Where a routed method names its server's name or URI. */
export const namePaths: ReadonlyMap<string, readonly JsonPath[]> = new Map([
  ["tools/call", [["params", "name"]]],
  ["prompts/get", [["params", "name"]]],
  ["resources/read", [["params", "uri"]]],
  ["resources/subscribe", [["params", "uri"]]],
  ["resources/unsubscribe", [["params", "uri"]]],
  [
    "completion/complete",
    [
      ["params", "ref", "name"],
      ["params", "ref", "uri"],
    ],
  ],
]);

/** Methods whose `Mcp-Name` header mirrors the routed value (the SDK's `MCP_NAME_HEADER_SOURCE`). */
const mirroredByName = new Set(["tools/call", "prompts/get", "resources/read"]);

const paramsPath: JsonPath = ["params"];
const metaPath: JsonPath = ["params", "_meta"];
const claimPath: JsonPath = ["params", "_meta", PROTOCOL_VERSION_META_KEY];

/** A call's body and headers as its server gets them. */
export interface RewrittenCall {
  readonly body: Buffer;
  readonly rawHeaders: string[];
  /** The same headers as an object, for the pool's reading of the call. */
  readonly headers: IncomingHttpHeaders;
}

/**
 * `body` with the routed value at `method`'s path replaced by `bare`, and `envelope` put into
 * `params._meta`; undefined when the body holds no such value (the caller found it: never).
 * `speaks`: the earlier-era version a hop speaks for a 2026-07-28 client (a server of the earlier era
 * only) — the body's own claim of 2026-07-28 is made to say it, so that the body and the
 * `MCP-Protocol-Version` header the hop sends agree. `named`: the value as the body's parse holds it,
 * which lets a lone name be found by a search rather than a walk (`soleMember`).
 */
export function bareBody(
  body: Buffer,
  method: string,
  bare: string,
  envelope: Readonly<Record<string, unknown>> | undefined,
  speaks?: string,
  named?: string,
): Buffer | undefined {
  const names = namePaths.get(method) ?? [];
  const only = names.length === 1 ? names[0] : undefined;
  if (named !== undefined && envelope === undefined && speaks === undefined && only !== undefined) {
    const at = soleMember(body, only[only.length - 1] as string, named);
    if (at !== undefined) return applySplices(body, [{ ...at, text: JSON.stringify(bare) }]);
  }
  const paths = envelope === undefined ? names : [...names, paramsPath, metaPath];
  const found = valuesAt(body, speaks === undefined ? paths : [...paths, claimPath]);
  const splices: Splice[] = [];
  let params: number | undefined;
  let meta: number | undefined;
  for (const at of found) {
    if (at.path === paths.length) {
      if (stringAt(body, at) !== undefined)
        splices.push({ start: at.start, end: at.end, text: JSON.stringify(speaks) });
    } else if (at.path < names.length) {
      if (stringAt(body, at) !== undefined)
        splices.push({ start: at.start, end: at.end, text: JSON.stringify(bare) });
    } else if (body[at.start] === 0x7b) {
      if (at.path === names.length) params = at.start;
      else meta = at.start;
    }
  }
  if (splices.length === 0) return undefined;
  if (envelope !== undefined) splices.push(envelopeSplice(body, envelope, params, meta));
  return applySplices(body, splices);
}

/**
 * The client's headers as the server gets them: without the client's `Mcp-Session-Id` (the
 * aggregate's own), its `Accept-Encoding` and the hop's dropped ones, with the hop's set ones, and
 * `Mcp-Name` naming the bare value when the client sent one or the hop speaks 2026-07-28 for it (an
 * envelope: `Mcp-Method` too, unless the hop sets it; `method` "" for a message that is no request).
 * The headers object is the client's as node parsed it (what a plain route's calls are read with),
 * changed alike.
 */
export function hopHeaders(
  client: { readonly rawHeaders: readonly string[]; readonly headers: IncomingHttpHeaders },
  method: string,
  bare: string,
  hop: Pick<Hop, "setHeaders" | "dropHeaders" | "metaEnvelope">,
): { rawHeaders: string[]; headers: IncomingHttpHeaders } {
  const set = Object.entries(hop.setHeaders);
  // a hop that speaks 2026-07-28 for an earlier-era client says the method, as that revision requires
  if (
    hop.metaEnvelope !== undefined &&
    method !== "" &&
    !set.some(([name]) => name.toLowerCase() === "mcp-method")
  )
    set.push(["Mcp-Method", method]);
  const dropped = set.length === 0 && dropsNoMore(hop.dropHeaders) ? alwaysDropped : droppedBy(hop, set);
  const headers: IncomingHttpHeaders = { ...client.headers };
  for (const name of dropped) delete headers[name];
  const named = (hop.metaEnvelope !== undefined && mirroredByName.has(method)) || "mcp-name" in headers;
  const rawHeaders: string[] = [];
  const raw = client.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!dropped.has(lower) && lower !== "mcp-name") rawHeaders.push(name, raw[i + 1] as string);
  }
  for (const [name, value] of set) {
    rawHeaders.push(name, value);
    headers[name.toLowerCase()] = value;
  }
  if (named) {
    const value = headerValue(bare);
    rawHeaders.push("Mcp-Name", value);
    headers["mcp-name"] = value;
  }
  return { rawHeaders, headers };
}

/**
 * What no hop sends on: the client's session (the aggregate's own), and its `Accept-Encoding` — the
 * aggregate reads every answer (URIs, server requests, list changes), and the client's Accept-Encoding
 * would let the server compress it past that reading (what passes unread is not rewritten).
 */
const alwaysDropped: ReadonlySet<string> = new Set(["mcp-session-id", "accept-encoding"]);

/** Whether `names` drops nothing beyond `alwaysDropped` (a pass-through's: made once, not per call). */
function dropsNoMore(names: readonly string[]): boolean {
  for (const name of names) if (!alwaysDropped.has(name)) return false;
  return true;
}

/** The (lower-case) names of the client's headers `hop` does not send on: its dropped and set ones too. */
function droppedBy(hop: Pick<Hop, "dropHeaders">, set: readonly [string, string][]): ReadonlySet<string> {
  const dropped = new Set([...alwaysDropped, ...hop.dropHeaders]);
  for (const [name] of set) dropped.add(name.toLowerCase());
  return dropped;
}

/**
 * A value as an MCP header carries it (streamable-http.mdx, "Value Encoding"; the SDK's
 * `encodeMcpParamValue`): as it is when it is a plain ASCII field value (0x20–0x7E and tab, no space
 * at either end, not itself a sentinel), else `=?base64?…?=` of its UTF-8.
 */
export function headerValue(value: string): string {
  const plain =
    value !== "" &&
    value === value.trim() &&
    !(value.startsWith("=?base64?") && value.endsWith("?=")) &&
    /^[\x20-\x7e\t]*$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}
