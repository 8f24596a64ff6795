-- wrk: 2026-07-28 requests (protocol version in headers and _meta, Mcp-Method / Mcp-Name as the SDKs send)
-- to the aggregate or to one server's route. KIND = "call" (tools/call of TOOL) or "list" (tools/list).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"

local kind = os.getenv("KIND") or "call"
local tool = os.getenv("TOOL") or "echo"
local meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'

if kind == "list" then
  wrk.headers["Mcp-Method"] = "tools/list"
  wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/list","params":{' .. meta .. '}}'
else
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = tool
  wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"' .. tool ..
    '","arguments":{"text":"breakwater benchmark payload, about two hundred bytes"},' .. meta .. '}}'
end
