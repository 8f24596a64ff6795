import { type Dispatcher, request } from "undici";
import type { CheckResult, HealthCheck } from "../../health/HealthCheck.ts";
import type { ExchangeJudge } from "../../judges/ExchangeJudge.ts";

const healthy: CheckResult = { healthy: true };
/** The revision the `initialize` of a check asks for: the newest with sessions (SPEC §2). */
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
 * `"mcp"` (SPEC §3.3): an `initialize` round trip to the MCP endpoint `url`, its answer judged as a
 * client's call would be (`judge` for the id "breakwater-health-check"), then a `DELETE` of the session
 * it created, if any, so that checks leave nothing behind on the server. Healthy unless the answer
 * would be a failure: a JSON-RPC error the client caused (or a 401 of a server that wants a token)
 * still shows a server that answers.
 */
export function mcpCheck(dispatcher: Dispatcher, url: URL, judge: () => ExchangeJudge): HealthCheck {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: JSON.parse(checkId),
    method: "initialize",
    params: {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: "breakwater-health-check", version: "1" },
    },
  });
  return async (signal) => {
    try {
      const res = await request(url, {
        dispatcher,
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-method": "initialize",
        },
        body,
        signal,
      });
      const answer = judge();
      let verdict = answer.head(res.statusCode, res.headers);
      for await (const chunk of res.body) {
        if (verdict !== "pending" && verdict !== "progressed") break;
        verdict = answer.data(chunk as Buffer);
      }
      if (verdict === "pending" || verdict === "progressed") verdict = answer.end();
      res.body.destroy(); // an event stream may go on after the answer
      const session = res.headers["mcp-session-id"];
      if (typeof session === "string") await endSession(dispatcher, url, session, signal);
      return verdict === "failure"
        ? { healthy: false, problem: `initialize answered ${res.statusCode} without a usable result` }
        : healthy;
    } catch (error) {
      return { healthy: false, problem: describe(error, signal) };
    }
  };
}

/** The check's id as JSON text, for its judge. */
export const healthCheckId = checkId;

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
