-- wrk: the ~200-byte tools/call of wrk-post.lua, each request to the next of ROUTES routes /s1 … /sN
-- (many servers behind one Breakwater, each on its own route)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.body = '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"breakwater benchmark payload, about two hundred bytes in all, like a small tool call"}}}'

local routes = tonumber(os.getenv("ROUTES") or "1")
local next_route = 0

request = function()
  next_route = next_route % routes + 1
  return wrk.format(nil, "/s" .. next_route)
end
