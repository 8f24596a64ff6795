/**
 * Ids of server-to-client requests as an earlier-era client of the aggregate sees them (SPEC §7.2:
 * "their ids made unique per server, and the client's answers are routed back to the server that
 * asked"). Two servers may both ask with id `5`; the client sees `"bw:github:5"` and `"bw:files:5"`.
 * Stateless: any replica reads the server and the original id back out of the client's answer.
 */

const prefix = "bw:";

/**
 * The id the client sees for `server`'s request whose id is `idText` — the JSON text of the server's
 * own id (`5`, `"abc"`), spliced back unchanged into the answer sent to the server.
 */
export function serverRequestId(server: string, idText: string): string {
  return `${prefix}${server}:${idText}`;
}

/**
 * The server and the JSON text of its own id behind a client's answer id; undefined when `id` is not
 * one {@link serverRequestId} makes. The id text comes from the client and is spliced into a JSON body
 * as it is, so it must be exactly one JSON string or number (JSON-RPC ids, JSON-RPC 2.0 §4): anything
 * else (`1,"method":"x"`, an object, `null`) is refused rather than sent on.
 */
export function parseServerRequestId(id: string): { server: string; idText: string } | undefined {
  if (!id.startsWith(prefix)) return undefined;
  const colon = id.indexOf(":", prefix.length);
  if (colon <= prefix.length) return undefined; // no server name
  const idText = id.slice(colon + 1);
  if (!isJsonId(idText)) return undefined;
  return { server: id.slice(prefix.length, colon), idText };
}

/** Whether `text` is one JSON string or finite number, and nothing else. */
function isJsonId(text: string): boolean {
  if (text.length === 0) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
  } catch {
    return false;
  }
}
