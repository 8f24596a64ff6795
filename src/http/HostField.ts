import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * `Host = uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2), ASCII only: an IP-literal in
 * brackets, or a reg-name / IPv4 address of unreserved and sub-delims characters — but **no
 * pct-encoding**, although reg-name allows it. No client sends one (an international name travels in
 * its `xn--` form), and a name that must be decoded is two names: `loc%61lhost` decoded by the URL
 * parser is `localhost`, while everything that reads the header as written (`X-Forwarded-Host`, the
 * public URL, the upstream's own Host check) sees another. The same goes for the characters a URL
 * parser maps to ASCII (`locªlhost` is `localhost` too): a Host is taken only as it is written.
 */
const hostSyntax = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::[0-9]*)?$/;

/** Whether `text` is a `Host` value as this proxy takes it: see {@link hostSyntax}. */
export function isHostSyntax(text: string): boolean {
  return hostSyntax.test(text);
}

/** What makes a request's `Host` field unacceptable, whatever the listener's allowed hosts. */
export type HostFieldProblem = "duplicate" | "invalid";

/**
 * Why a request's `Host` field is bad (RFC 9112 §3.2: "a server MUST respond with a 400 (Bad Request)
 * status code to … any request message that contains more than one Host header field line or a Host
 * header field with an invalid field value"), or undefined. Read from the raw headers: node keeps the
 * first `Host` of several in `req.headers` and drops the others. A missing `Host` is node's to refuse
 * (`requireHostHeader`, for HTTP/1.1), and the Host rule's otherwise.
 */
export function hostFieldProblem(rawHeaders: readonly string[]): HostFieldProblem | undefined {
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    // the common spellings first: no lowercased copy of every header name per request
    if (name.length !== 4 || (name !== "Host" && name !== "host" && name.toLowerCase() !== "host")) continue;
    if (host !== undefined) return "duplicate";
    host = rawHeaders[i + 1] as string;
  }
  return host === undefined || isHostSyntax(host) ? undefined : "invalid";
}

const messages: Record<HostFieldProblem, string> = {
  duplicate: "Bad Request: more than one Host header",
  invalid: "Bad Request: invalid Host header",
};

/**
 * `handle`, behind the `Host` field's rule: a request with several `Host` fields or an invalid one is
 * answered 400 (`reason: "bad_host"`) before anything else reads it, on every listener. Its body is not
 * read (no JSON-RPC id is looked for in a message that is not valid HTTP) and the connection is closed.
 * Costs a pass over the raw header names and one regular expression per request.
 */
export function refuseBadHost(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const problem = hostFieldProblem(req.rawHeaders);
    if (problem === undefined) return handle(req, res);
    const body = JSON.stringify({ error: messages[problem], reason: "bad_host" });
    res
      .writeHead(400, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "cache-control": "no-store",
        connection: "close",
      })
      .end(body);
  };
}

/** A host as a request names it: the name (lowercase; an IPv6 address in brackets) and the port, if any. */
export interface HostName {
  readonly name: string;
  /** The port as written, or undefined when none was. */
  readonly port: string | undefined;
}

/**
 * Reads `name[:port]` (a `Host` header, or an `allowed_hosts` entry) the way a URL parser does, once
 * it has the syntax of a Host written as is ({@link isHostSyntax}: ASCII, no pct-encoding, nothing the
 * parser would decode into another name); `undefined` for anything that is not just a host and a port
 * (userinfo, a path, spaces, a bad port, `loc%61lhost`).
 */
export function parseHost(text: string): HostName | undefined {
  if (!isHostSyntax(text)) return undefined;
  const url = URL.parse(`http://${text}`);
  if (url === null) return undefined; // e.g. a port beyond 65535
  const portWritten = /:\d+$/.test(text) && !/^\[[^\]]*\]$/.test(text);
  return { name: url.hostname, port: portWritten ? (url.port === "" ? "80" : url.port) : undefined };
}

/**
 * An `allowed_hosts` entry: a host name with an optional port, read as {@link parseHost} reads a `Host`.
 *
 * @throws {RangeError} for anything else.
 */
export function parseHostEntry(entry: string): HostName {
  const host = parseHost(entry);
  if (host === undefined) {
    throw new RangeError(
      `not a host name with an optional port (ASCII; an international name in its xn-- form): "${entry}"`,
    );
  }
  return host;
}
