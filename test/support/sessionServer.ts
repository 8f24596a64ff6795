import type { Handler } from "./upstream.ts";

/**
 * A tiny MCP-like server: `initialize` creates a session; other calls need a session it knows. Every
 * answer says which server gave it (`x-upstream`). `refuseDelete`: DELETE is answered 405, as a server
 * that does not let clients end sessions does.
 */
export function sessionServer(name: string, { refuseDelete = false } = {}): Handler {
  const sessions = new Set<string>();
  let next = 0;
  return (req, res, body) => {
    const message = body ? (JSON.parse(body) as { id?: unknown; method?: string }) : {};
    const session = req.headers["mcp-session-id"];
    res.setHeader("x-upstream", name);
    if (req.method === "DELETE" && typeof session === "string") {
      if (refuseDelete) {
        res.writeHead(405, { allow: "GET, POST" }).end();
        return;
      }
      sessions.delete(session);
      res.writeHead(200).end();
      return;
    }
    if (message.method === "initialize") {
      const id = `${name}-${++next}`;
      sessions.add(id);
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": id, "x-upstream": name });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: {} }));
      return;
    }
    if (typeof session !== "string" || !sessions.has(session)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: message.id ?? null,
          error: { code: -32001, message: "Session not found" },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "x-upstream": name, "mcp-session-id": session });
    res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { upstream: name } }));
  };
}
