import { type Dispatcher, request } from "undici";
import { type CheckAnswer, readCheckAnswer } from "../../health/checkAnswer.ts";
import { discoverEra, type McpEra, modernRevision, unsupportedVersion } from "../../health/discoverEra.ts";
import type { CheckResult, HealthCheck } from "../../health/HealthCheck.ts";
import type { ExchangeJudge } from "../../judges/ExchangeJudge.ts";

const healthy: CheckResult = { healthy: true };
/** The revision an earlier-era check's `initialize` asks for: the newest with sessions (SPEC §2). */
const protocolVersion = "2025-11-25";
const checkId = '"breakwater-health-check"';

/** `"http"` (SPEC §3.3): a GET of `url`; a 2xx is healthy. */
export function httpCheck(dispatcher: Dispatcher, url: URL): HealthCheck {
  return async (signal) => {
    try {
      const res = await request(url, { dispatcher, method: "GET", signal });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300
        ? healthy
        : { healthy: false, problem: `GET ${url.pathname} answered ${res.statusCode}` };
    } catch (error) {
      return { healthy: false, problem: describe(error, signal) };
    }
  };
}

/**
 * `"mcp"` (SPEC §3.3, §8.2): a `server/discover` to the MCP endpoint `url` (MCP 2026-07-28; a `result`
 * is healthy), and for an upstream that answers it as an earlier-era server does, an `initialize` round
 * trip then a `DELETE` of the session it created, if any, so that checks leave nothing behind. Each
 * answer is judged as a client's call would be (`judge`, for the id "breakwater-health-check"): healthy
 * unless it would be a failure — a JSON-RPC error the client caused (or a 401 of a server that wants a
 * token) still shows a server that answers. The era learnt is remembered, so that the next check of an
 * earlier-era upstream goes straight to `initialize`, and forgotten after a failed check (the upstream may
 * come back as another server), or when an `initialize` is refused as modern-only servers refuse it.
 */
export function mcpCheck(dispatcher: Dispatcher, url: URL, judge: () => ExchangeJudge): HealthCheck {
  let era: McpEra | undefined;
  return async (signal) => {
    try {
      if (era !== "earlier") {
        const answer = await post(dispatcher, url, discover, signal, judge());
        era = discoverEra(answer.status, answer.response);
        if (era !== "earlier") {
          if (!answer.failed) return healthy;
          era = undefined;
          return {
            healthy: false,
            problem: `server/discover answered ${answer.status} without a usable result`,
          };
        }
      }
      const answer = await post(dispatcher, url, initialize, signal, judge());
      if (answer.session !== undefined) await endSession(dispatcher, url, answer.session, signal);
      // a modern-only server's refusal (400, -32022): ask server/discover again next time
      if (answer.response?.error?.code === unsupportedVersion) era = undefined;
      if (!answer.failed) return healthy;
      era = undefined;
      return { healthy: false, problem: `initialize answered ${answer.status} without a usable result` };
    } catch (error) {
      era = undefined;
      return { healthy: false, problem: describe(error, signal) };
    }
  };
}

/** One request of a check, sent with the headers its revision requires. */
interface CheckRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

const accepts = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const clientInfo = { name: "breakwater-health-check", version: "1" };

/** MCP 2026-07-28 `server/discover`: the `_meta` envelope in the body, its version and method as headers too. */
const discover: CheckRequest = {
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: JSON.parse(checkId),
    method: "server/discover",
    params: {
      _meta: {
        "io.modelcontextprotocol/protocolVersion": modernRevision,
        "io.modelcontextprotocol/clientInfo": clientInfo,
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  }),
  headers: { ...accepts, "mcp-protocol-version": modernRevision, "mcp-method": "server/discover" },
};

const initialize: CheckRequest = {
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: JSON.parse(checkId),
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo },
  }),
  headers: { ...accepts, "mcp-method": "initialize" },
};

/** Sends one of a check's requests: its answer, read and judged, and the session it opened, if any. */
async function post(
  dispatcher: Dispatcher,
  url: URL,
  { body, headers }: CheckRequest,
  signal: AbortSignal,
  judge: ExchangeJudge,
): Promise<CheckAnswer & { session: string | undefined }> {
  const res = await request(url, { dispatcher, method: "POST", headers, body, signal });
  try {
    const answer = await readCheckAnswer(
      res.statusCode,
      res.headers,
      res.body as AsyncIterable<Buffer>,
      judge,
    );
    const session = res.headers["mcp-session-id"];
    return { ...answer, session: typeof session === "string" ? session : undefined };
  } finally {
    res.body.destroy(); // an event stream may go on after the answer
  }
}

/** The check's id as JSON text, for its judge. */
export const healthCheckId = checkId;

/**
 * What a check's request is judged as: a call of the check's own id (SPEC §3.3). A check cannot resume
 * a stream, so one that ends without the answer is a failure whatever its era (`modern`: the resumable
 * streams of the earlier era, neutral for a client that resumes them, are not neutral here).
 */
export const healthCheckCall = {
  ids: [healthCheckId],
  progressTokens: new Set<string>(),
  tool: undefined,
  modern: true,
};

async function endSession(dispatcher: Dispatcher, url: URL, session: string, signal: AbortSignal) {
  try {
    const res = await request(url, {
      dispatcher,
      method: "DELETE",
      headers: { "mcp-session-id": session, "mcp-protocol-version": protocolVersion },
      signal,
    });
    await res.body.dump();
  } catch {
    // the check's verdict stands; a server that cannot end a session keeps it until its own timeout
  }
}

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "no answer within timeout_ms";
  const { message, code } = error as { message?: string; code?: string };
  return code === undefined ? String(message) : `${code}: ${message}`;
}
