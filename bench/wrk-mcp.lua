-- wrk: POST an MCP tools/call with a progress token, as a client that wants progress does
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"breakwater benchmark"},"_meta":{"progressToken":"p42"}}}'
