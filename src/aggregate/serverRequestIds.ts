/**
 * Ids of server-to-client requests relayed to an earlier-era client through the aggregate (SPEC §7.2):
 * servers number their requests each on their own, so the client sees `"bw:<server>:<id as JSON>"`,
 * unique per server and stateless (any replica reads it back), and its answer is sent to that server
 * with the server's own id text.
 */

const prefix = "bw:";

/** The id the client sees for request `idText` (JSON text) of `server`. */
export function serverRequestId(server: string, idText: string): string {
  return `${prefix}${server}:${idText}`;
}

/** The server and its own id text behind an id the aggregate made; undefined for any other id. */
export function parseServerRequestId(id: string): { server: string; idText: string } | undefined {
  if (!id.startsWith(prefix)) return undefined;
  const colon = id.indexOf(":", prefix.length);
  if (colon <= prefix.length) return undefined;
  const idText = id.slice(colon + 1);
  try {
    const value: unknown = JSON.parse(idText);
    if (typeof value !== "string" && typeof value !== "number") return undefined;
  } catch {
    return undefined;
  }
  return { server: id.slice(prefix.length, colon), idText };
}
