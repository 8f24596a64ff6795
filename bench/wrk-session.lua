-- wrk: POST a ~200-byte tools/call inside an MCP session (the session id or token in MCP_SESSION)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = os.getenv("MCP_SESSION")
wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"breakwater benchmark payload, about two hundred bytes in all, like a small tool call"}}}'
