/**
 * Where the proxy serves and where a request goes, as nginx's `location ROUTE { proxy_pass URL; }`:
 * the request path with `route` cut off is joined onto the upstream URL's path by exactly one "/", and
 * the query is kept.
 *
 * @example
 * routeRemainder("/mcp", "/mcp/x?y=1")       // "/x?y=1"
 * targetPath("/mcp", "/x?y=1")               // "/mcp/x?y=1"
 * targetPath("/mcp", routeRemainder("/", "/"))  // "/mcp"
 */

/**
 * The part of `target` after `route`, or `undefined` when `target` is outside the route. A route
 * matches at a path-segment boundary: "/mcp" serves "/mcp", "/mcp/…" and "/mcp?…", never "/mcpx".
 */
export function routeRemainder(route: string, target: string): string | undefined {
  if (!target.startsWith(route)) return undefined;
  if (route.endsWith("/")) return target.slice(route.length);
  const next = target.charCodeAt(route.length);
  if (Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f /* ? */) return target.slice(route.length);
  return undefined;
}

/**
 * The upstream request target: `basePath` joined with `remainder` (path and query) by exactly one "/".
 * An empty remainder leaves `basePath` as it is; a remainder of just "/" (the client's trailing
 * slash) keeps one.
 */
export function targetPath(basePath: string, remainder: string): string {
  const queryAt = remainder.indexOf("?");
  const path = queryAt < 0 ? remainder : remainder.slice(0, queryAt);
  const query = queryAt < 0 ? "" : remainder.slice(queryAt);
  if (path === "") return basePath + query;
  const base = basePath.endsWith("/") ? basePath.slice(0, -1) : basePath;
  return `${base}/${path.startsWith("/") ? path.slice(1) : path}${query}`;
}
