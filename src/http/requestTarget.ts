/**
 * Whether a request target may be forwarded as it is. A dot segment ("." or "..") would let a request
 * climb out of the route or an upstream's base path; nginx normalises them away before matching, the
 * proxy refuses them, in every spelling an upstream might still resolve as one:
 * - raw or percent-encoded dots (`%2e`), between slashes that may be encoded (`%2f`) or backslashes,
 *   raw or encoded (`%5c`), since WHATWG-URL parsers treat `\` as `/`;
 * - followed by path parameters (`..;x`, `..%3b`), which Tomcat, Jetty and Spring cut off before
 *   resolving dot segments;
 * - around an encoded NUL (`.%00.`), which some servers drop: an encoded NUL is refused anywhere.
 * Only the path is checked, not the query.
 */
const dotSegment = /(?:^|[/\\]|%2f|%5c)(?:\.|%2e){1,2}(?:[/\\;]|%2f|%5c|%3b|$)/i;

/** Why `target` (an origin-form request target) must not be forwarded, or undefined when it may be. */
export function unsafeTarget(target: string): string | undefined {
  // only origin-form targets: an absolute URL would make this an open proxy
  if (target[0] !== "/") return "request target must be a path (this is not an open proxy)";
  const queryAt = target.indexOf("?");
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  // most paths have neither a dot nor a percent sign: they need no regular expression
  if (path.includes(".") || path.includes("%")) {
    if (dotSegment.test(path)) return "request path must not contain . or .. segments";
    if (path.includes("%00")) return "request path must not contain an encoded NUL (%00)";
  }
  return undefined;
}
