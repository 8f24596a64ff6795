import type { IncomingHttpHeaders } from "node:http";
import { targetPath } from "../http/targetPath.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";

/** The protected-resource metadata document, whose `resource` must be the URL the client used. */
const metadataDocument = "/.well-known/oauth-protected-resource";
const wellKnownDocuments = [
  metadataDocument,
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
];
/** Metadata documents are small; a larger body is passed on as it is. */
const maxDocumentBytes = 64 * 1024;
const resourceMetadata = /(resource_metadata=")([^"]*)(")/gi;

/**
 * Where an upstream names its own URL in what it sends back, the client must see the proxy's instead,
 * or it would go around the proxy, or refuse the token's audience (RFC 9728 §3.3) — SPEC §4.2. The
 * upstream's origin and base path become the public URL: `server.public_url`, or by default the
 * scheme the client used, its `Host` and the route. Rewritten: `resource_metadata` in
 * `WWW-Authenticate`, `Location`, and the `resource` of a protected-resource metadata document.
 */
export class PublicUrls {
  readonly #route: string;
  readonly #publicUrl: URL | undefined;
  readonly #upstreamUrls: ReadonlyMap<Upstream, URL>;

  constructor(options: {
    route: string;
    publicUrl: URL | undefined;
    upstreamUrls: ReadonlyMap<Upstream, URL>;
  }) {
    this.#route = options.route;
    this.#publicUrl = options.publicUrl;
    this.#upstreamUrls = options.upstreamUrls;
  }

  /** The response headers with the upstream's URLs made public; the same object when none is named. */
  headers(headers: IncomingHttpHeaders, upstream: Upstream, request: UpstreamRequest): IncomingHttpHeaders {
    // undici hands a repeated header over as an array, whatever node's types say
    const challenge = headers["www-authenticate"] as string | string[] | undefined;
    const location = headers.location;
    if (challenge === undefined && location === undefined) return headers;
    const map = (url: string) => this.map(url, upstream, request);
    const out = { ...headers };
    if (typeof challenge === "string") out["www-authenticate"] = mapChallenge(challenge, map);
    else if (Array.isArray(challenge)) {
      (out as Record<string, unknown>)["www-authenticate"] = challenge.map((c) => mapChallenge(c, map));
    }
    if (location !== undefined) out.location = map(location);
    return out;
  }

  /** Whether this response is a protected-resource metadata document whose `resource` is to be made public. */
  rewritesBody(request: UpstreamRequest, status: number, headers: IncomingHttpHeaders): boolean {
    if (request.discovery?.document !== metadataDocument || status < 200 || status >= 300) return false;
    const type = headers["content-type"];
    const length = Number(headers["content-length"] ?? 0);
    return typeof type === "string" && type.includes("json") && length <= maxDocumentBytes;
  }

  /** The metadata document with its `resource` made public; the body as it was when it cannot be read. */
  body(body: Buffer, upstream: Upstream, request: UpstreamRequest): Buffer {
    if (body.length > maxDocumentBytes) return body;
    let document: unknown;
    try {
      document = JSON.parse(body.toString("utf8"));
    } catch {
      return body;
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) return body;
    const resource = (document as { resource?: unknown }).resource;
    if (typeof resource !== "string") return body;
    const mapped = this.map(resource, upstream, request);
    return mapped === resource ? body : Buffer.from(JSON.stringify({ ...document, resource: mapped }));
  }

  /** `url` as the client must see it: under the upstream's origin and base path, it moves to the public URL. */
  map(url: string, upstream: Upstream, request: UpstreamRequest): string {
    const upstreamUrl = this.#upstreamUrls.get(upstream);
    const parsed = URL.parse(url);
    const base = this.#base(request);
    if (upstreamUrl === undefined || parsed === null || base === undefined) return url;
    if (parsed.origin !== upstreamUrl.origin) return url;
    const basePath = upstreamUrl.pathname;
    let path = parsed.pathname;
    const document = wellKnownDocuments.find((d) => path === d || path.startsWith(`${d}/`));
    if (document !== undefined) path = path.slice(document.length) || "/";
    let rest = under(path, basePath);
    if (rest === undefined) return url;
    if (document !== undefined && rest === "/") rest = ""; // the document of the resource at the root
    const mapped = targetPath(base.pathname, rest);
    const publicPath = document === undefined ? mapped : mapped === "/" ? document : document + mapped;
    return `${base.origin}${publicPath}${parsed.search}${parsed.hash}`;
  }

  /** The proxy's public URL for this request: `server.public_url`, or scheme + Host + route. */
  #base(request: UpstreamRequest): URL | undefined {
    if (this.#publicUrl !== undefined) return this.#publicUrl;
    if (request.host === undefined) return undefined;
    return URL.parse(`${request.proto}://${request.host}${this.#route}`) ?? undefined;
  }
}

/** The part of `path` below `basePath` ("" for the base itself), or undefined when it is not below. */
function under(path: string, basePath: string): string | undefined {
  if (basePath === "/" || basePath === "") return path;
  const base = basePath.endsWith("/") ? basePath.slice(0, -1) : basePath;
  if (path === base) return "";
  return path.startsWith(`${base}/`) ? path.slice(base.length) : undefined;
}

function mapChallenge(challenge: string, map: (url: string) => string): string {
  return challenge.replace(
    resourceMetadata,
    (_all, before: string, url: string, after: string) => before + map(url) + after,
  );
}
