import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/**
 * Hop-by-hop headers: they describe one connection, not the message, and are never forwarded
 * (RFC 9110 §7.6.1: Connection and the fields it names, Proxy-Connection, Keep-Alive, TE,
 * Transfer-Encoding, Upgrade; and Trailer, which only announces fields of the chunked framing).
 */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Names listed in a `Connection` header (lowercased), which are hop-by-hop for this message too. */
function namedByConnection(value: string | string[] | undefined): Set<string> | undefined {
  // the usual values name nothing beyond the hop-by-hop list itself: no set to build
  if (value === undefined || value === "keep-alive" || value === "close") return undefined;
  const names = (Array.isArray(value) ? value.join(",") : value).split(",");
  return new Set(names.map((name) => name.trim().toLowerCase()).filter((name) => name !== ""));
}

export interface ClientInfo {
  /** The client's address, appended to X-Forwarded-For. */
  readonly address: string | undefined;
  /** The Host the client asked for, sent on as X-Forwarded-Host. */
  readonly host: string | undefined;
  /** "http" or "https", as the client reached the proxy. */
  readonly proto: string;
}

/**
 * The headers to send upstream, as undici's flat `[name, value, …]` list: the client's headers without
 * hop-by-hop ones, without Host (the upstream's own is sent), Content-Length (the buffered body sets
 * it) and Expect (already answered), and with X-Forwarded-For/-Proto/-Host set.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | string[] | undefined,
  client: ClientInfo,
): string[] {
  const named = namedByConnection(connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || named?.has(lower)) continue;
    switch (lower) {
      // the proxy has read the whole body already, so an expectation is met here (RFC 9110 §10.1.1)
      case "expect":
      case "host":
      case "content-length":
      case "x-forwarded-proto":
      case "x-forwarded-host":
        continue;
      case "x-forwarded-for":
        forwardedFor =
          forwardedFor === undefined ? rawHeaders[i + 1] : `${forwardedFor}, ${rawHeaders[i + 1]}`;
        continue;
    }
    out.push(name, rawHeaders[i + 1] as string);
  }
  const chain =
    client.address === undefined
      ? forwardedFor
      : forwardedFor
        ? `${forwardedFor}, ${client.address}`
        : client.address;
  if (chain !== undefined) out.push("x-forwarded-for", chain);
  out.push("x-forwarded-proto", client.proto);
  if (client.host !== undefined) out.push("x-forwarded-host", client.host);
  return out;
}

/** The upstream's response headers to send to the client, without hop-by-hop ones. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = namedByConnection(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (hopByHop.has(name) || named?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}
