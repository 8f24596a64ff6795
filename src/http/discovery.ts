import { targetPath } from "./targetPath.ts";

/**
 * The OAuth discovery documents an MCP client looks for at the root of the server's origin (RFC 9728
 * protected-resource metadata, RFC 8414 and OpenID Connect authorization-server metadata). They live
 * outside any route, so the proxy forwards them to the server whose route their suffix names, or to its
 * only server (SPEC §4.2, §7.1).
 */
const documents = [
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
] as const;

/** A request for a discovery document, routed: which document, and whether its suffix names its route. */
export interface Discovery {
  readonly document: (typeof documents)[number];
  /**
   * Whether the suffix after the document's name is the route (or under it): it then names the
   * resource behind the route, and the request's target is the suffix with the route cut off, to be
   * mapped onto the upstream's base path like any request path. Otherwise (an issuer's own path) the
   * target is the suffix as it is.
   */
  readonly inRoute: boolean;
}

/** A request for a discovery document, before routing: which document, and what follows its name. */
export interface DiscoveryDocument {
  readonly document: Discovery["document"];
  /** The rest of the target ("" or "?…" for a bare name, else "/…"). */
  readonly suffix: string;
}

/** The discovery document `target` asks for, or undefined when it is no such request. */
export function discoveryDocument(target: string): DiscoveryDocument | undefined {
  if (!target.startsWith("/.well-known/")) return undefined;
  for (const document of documents) {
    if (!target.startsWith(document)) continue;
    const next = target.charCodeAt(document.length);
    // the name must end there: "/.well-known/openid-configurationX" is another document
    if (!((Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f) /* ? */)) continue;
    return { document, suffix: target.slice(document.length) };
  }
  return undefined;
}

/**
 * The path a suffix names a resource at: a bare name stands for the origin's root, which is the route
 * when the route is "/".
 */
export function suffixPath(suffix: string): string {
  return suffix === "" || suffix[0] === "?" ? `/${suffix}` : suffix;
}

/**
 * Where the upstream keeps the document: its name, then the target mapped onto the upstream's base
 * path when it names the route (`/.well-known/oauth-protected-resource/mcp` for the route `/mcp` and
 * the upstream `http://h/api`: `…/api`), or as it is otherwise. A target that maps to the bare origin
 * is left off, as RFC 9728 §3.1 builds the URL of a path-less resource.
 */
export function discoveryPath(discovery: Discovery, target: string, basePath: string): string {
  if (!discovery.inRoute) return discovery.document + target;
  const mapped = targetPath(basePath, target);
  if (mapped === "/") return discovery.document;
  return discovery.document + (mapped.startsWith("/?") ? mapped.slice(1) : mapped);
}
