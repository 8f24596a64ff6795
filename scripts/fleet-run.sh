#!/usr/bin/env bash
# Three Breakwater replicas sharing sessions and circuits through one redis-server, driven by curl: the
# run shown in docs/fleet.md. Upstream: the demo's MCP server alpha (npm start, control on :9900).
# Needs redis-server, openssl, curl; uses ports 3001-3004, 6390, 8080-8083, 9900-9913.
set -u
BW=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
export PATH=$BW/node_modules/.bin:$PATH
cleanup() {
  pkill -f "$W/fleet.toml"; pkill -f "redis-server 127.0.0.1:6390"; pkill -f "examples/demo/demo.ts"
  rm -rf "$W"
}
trap cleanup EXIT
say() { printf '\n$ %s\n' "$*"; }
rpc() { curl -s -X POST "$1" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' ${3:+-H "mcp-session-id: $3"} -d "$2" -o $W/body -w '%{http_code}'; }

(cd "$BW" && npm start > "$W/demo.log" 2>&1 &)   # alpha on :3001, control on :9900
redis-server --port 6390 --bind 127.0.0.1 --save "" > $W/redis.log 2>&1 &
KEY=$(openssl rand -base64 32)
cat > $W/fleet.toml <<TOML
[proxy.circuit_breaker]
failure_threshold = 3
timeout_duration_secs = 5
success_threshold = 2

[fleet]
session_keys = ["$KEY"]
redis_url = "redis://127.0.0.1:6390"

[[upstreams]]
name = "alpha"
url = "http://127.0.0.1:3001/mcp"
TOML
sleep 3
for i in 1 2 3; do
  node $BW/src/cli.ts --config $W/fleet.toml --listen 127.0.0.1:808$i --admin-listen 127.0.0.1:991$i > $W/r$i.log 2>&1 &
done
sleep 3

say "initialize on replica 1, then tools/call with its token on replicas 2 and 3"
rpc http://127.0.0.1:8081/ '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' > /dev/null
TOKEN=$(curl -s -D - -o /dev/null -X POST http://127.0.0.1:8081/ -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' | tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
echo "token: ${TOKEN:0:40}… (${#TOKEN} characters)"
rpc http://127.0.0.1:8081/ '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$TOKEN" > /dev/null
for i in 2 3; do
  code=$(rpc http://127.0.0.1:808$i/ '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}' "$TOKEN")
  echo "replica $i: HTTP $code $(grep -o '"text":"[^"]*"' $W/body | head -1)"
done

say "alpha fails: 3 calls to replica 1 open its circuit; the others hear of it"
curl -s -X POST http://127.0.0.1:9900/upstreams/alpha/fail > /dev/null
for n in 1 2 3 4; do echo "call $n to replica 1: HTTP $(rpc http://127.0.0.1:8081/ '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')"; done
sleep 0.5
grep -h '"circuit opened"' $W/r1.log $W/r2.log $W/r3.log | node -e '
const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
const first = Date.parse(lines[0].time);
for (const l of lines) console.log(`${l.time}  +${Date.parse(l.time) - first} ms  to=${l.to} reason=${l.reason}${l.origin ? " origin=" + l.origin : ""}`);'
echo "replica 3 /health: $(curl -s http://127.0.0.1:9913/health | node -e 'const h=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(JSON.stringify({state: h.circuit_breakers.alpha.state, retry_after_ms: h.circuit_breakers.alpha.retry_after_ms, fleet: h.fleet}))')"

say "alpha recovers; after the 5 s open time clients call all three replicas"
curl -s -X POST http://127.0.0.1:9900/upstreams/alpha/ok > /dev/null
sleep 5.2
for n in $(seq 1 12); do i=$(( (n - 1) % 3 + 1 )); printf 'r%s:%s ' $i "$(rpc http://127.0.0.1:808$i/ '{"jsonrpc":"2.0","id":3,"method":"tools/list"}')"; sleep 0.05; done; echo
for i in 1 2 3; do echo "replica $i: $(grep -h '"circuit state changed"' $W/r$i.log | node -e 'const t=require("fs").readFileSync(0,"utf8").trim().split("\n").map(JSON.parse); console.log(t.map(l=>`${l.from}→${l.to} (${l.reason})`).join(", "))')"; done

say "reload: beta added to the file, SIGHUP to replica 1 (its alpha circuit and connections are kept)"
printf '\n[[upstreams]]\nname = "beta"\nurl = "http://127.0.0.1:3002/mcp"\n' >> $W/fleet.toml
pkill -HUP -f "listen 127.0.0.1:8081"
sleep 0.5
grep -h '"config reloaded"' $W/r1.log | node -e 'for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n").map(JSON.parse)) console.log(l.time, l.msg, JSON.stringify({ trigger: l.trigger, upstreams: l.upstreams, changed: l.changed }))'
echo "replica 1 /health: $(curl -s http://127.0.0.1:9911/health | node -e 'const h=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(Object.entries(h.circuit_breakers).map(([n,c])=>`${n} ${c.state}, ${c.total_requests} requests`).join("; "))')"

say "Redis dies: every replica goes on alone, without an error"
pkill -f "redis-server 127.0.0.1:6390"
sleep 1.5
codes=""; for n in $(seq 1 30); do i=$(( (n - 1) % 3 + 1 )); codes="$codes $(rpc http://127.0.0.1:808$i/ '{"jsonrpc":"2.0","id":4,"method":"tools/list"}')"; done
echo "30 calls across the replicas:$(echo $codes | tr ' ' '\n' | sort | uniq -c | awk '{printf " %s × HTTP %s", $1, $2}')"
grep -h '"fleet link' $W/r*.log | node -e 'for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n").map(JSON.parse)) console.log(l.time, l.msg)'
echo "replica 2 metric: $(curl -s http://127.0.0.1:9912/metrics | grep '^breakwater_fleet_connected')"

say "Redis is back"
redis-server --port 6390 --bind 127.0.0.1 --save "" > $W/redis.log 2>&1 &
sleep 3
grep -h '"fleet link back' $W/r*.log | node -e 'for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n").map(JSON.parse)) console.log(l.time, l.msg)'
echo "replica 1 /health fleet: $(curl -s http://127.0.0.1:9911/health | node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(0,"utf8")).fleet))')"

pkill -f "fleet-run/fleet.toml"; pkill -f "redis-server 127.0.0.1:6390"; pkill -f "examples/demo/demo.ts"
