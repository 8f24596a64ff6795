/**
 * What a session token costs (run by hand: `npm run bench:tokens`): sealing an upstream's session id
 * into the token a response carries, and opening the token a request carries (SPEC §6.1), the same open
 * of a token the proxy has seen (its bounded cache), and a lookup in a Map such as the in-memory session
 * table did. Interleaved rounds, medians.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { SessionSealer } from "../src/sessions/SessionSealer.ts";
import { SessionTokens } from "../src/sessions/SessionTokens.ts";
import type { Upstream } from "../src/upstreams/Upstream.ts";
import { measure, table } from "./harness.ts";

const sealer = new SessionSealer([randomBytes(32), randomBytes(32)]);
const digest = SessionSealer.upstreamDigest("primary");
const id = randomUUID();
const token = sealer.seal(digest, id);
const table_ = new Map([[id, "primary"]]);
const tokens = new SessionTokens([{ name: "primary" } as Upstream], [randomBytes(32)]);
const known = tokens.sealed({ "mcp-session-id": id }, { name: "primary" } as Upstream)[
  "mcp-session-id"
] as string;
let sink = 0;
const results = await measure(
  [
    {
      name: "seal (a response's session id)",
      run(n) {
        for (let i = 0; i < n; i++) sink += sealer.seal(digest, id).length;
      },
    },
    {
      name: "open (a request's token)",
      run(n) {
        for (let i = 0; i < n; i++) sink += sealer.open(token)?.sessionId.length ?? 0;
      },
    },
    {
      name: "open, a token seen before (the proxy's cache)",
      run(n) {
        for (let i = 0; i < n; i++) sink += tokens.open(known)?.sessionId.length ?? 0;
      },
    },
    {
      name: "Map lookup (the session table it replaces)",
      run(n) {
        for (let i = 0; i < n; i++) sink += table_.get(id)?.length ?? 0;
      },
    },
  ],
  { sampleMs: 200, rounds: 7 },
);
console.log(`# Session tokens — Node ${process.version}, ${token.length}-character token\n`);
console.log(
  table(
    ["operation", "µs"],
    [...results].map(([name, ns]) => [name, ns / 1_000]),
  ),
);
if (sink === 0) console.log("");
