/**
 * An `allowed_origins` entry: an http(s) origin as a browser sends it in `Origin` (RFC 6454 §7), a
 * trailing slash forgiven; its serialisation is returned.
 *
 * @throws {RangeError} for anything else (a path, another scheme, a bare host).
 */
export function parseOriginEntry(entry: string): string {
  const url = URL.parse(entry);
  if (
    url === null ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.origin !== entry.replace(/\/$/, "")
  ) {
    throw new RangeError(`not an origin such as "https://app.example.com": "${entry}"`);
  }
  return url.origin;
}
