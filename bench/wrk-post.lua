-- wrk: POST a ~200-byte JSON-RPC request, as an MCP client's tools/call
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"breakwater benchmark payload, about two hundred bytes in all, like a small tool call"}}}'
