import { discoveryDocument } from "../http/discovery.ts";
import { unsafeTarget } from "../http/requestTarget.ts";

/**
 * Why no request could ever reach a route, if none could: the proxy refuses request paths with dot
 * segments (and so a route holding one), takes every path under an OAuth discovery document's name for
 * discovery (SPEC §4.2), and a route beginning "//" would read as a host in a public URL joined onto it.
 */
export function unreachableRoute(route: string): string | undefined {
  if (route.startsWith("//")) return 'must not begin with "//" (it would read as a host)';
  const unsafe = unsafeTarget(route);
  if (unsafe !== undefined) return `no request can reach it: ${unsafe.replace("request path", "a path")}`;
  if (discoveryDocument(route) !== undefined)
    return "no request can reach it: paths under an OAuth discovery document's name are discovery";
  return undefined;
}
