#!/usr/bin/env bash
# The package as a user gets it — the steps of the Dockerfile and of the README's "Install and run in
# production", run here since no container engine can:
#   1. `npm ci --omit=dev` in a copy of the clone's manifests succeeds (no compiler: prepare skips);
#   2. `npm pack` (its prepack builds dist/) → `npm install --omit=dev` of the tarball into an empty folder;
#   3. from there: `breakwater --version`, `breakwater check`, and a proxy in front of a stdio and of an
#      HTTP MCP server (each of Node alone), `/ready` answering 200 (and the Dockerfile's HEALTHCHECK
#      saying healthy), one MCP call (initialize + tools/call) through each;
#   4. the same command with an older Node first on PATH (OLD_NODE, default /usr/bin/node): one line
#      naming the Node needed, exit 1.
# Prints the size of the --omit=dev install and the installed command's start-up time (median of 5
# runs of --version). Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fixtures=$root/test/package/fixtures
old_node=${OLD_NODE:-/usr/bin/node}
work=$(mktemp -d)
ms() { echo $(($(date +%s%N) / 1000000)); }
started=$(ms)
pids=()

stop_all() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "package-check: [$((($(ms) - started) / 1000)) s] $*"; }
die() {
  echo "package-check: FAILED: $*" >&2
  exit 1
}
version=$(node -p 'require("./package.json").version')

step "npm ci --omit=dev in a copy of the clone's manifests"
mkdir "$work/clone"
cp -r package.json package-lock.json scripts "$work/clone/"
(cd "$work/clone" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error) >"$work/clone.log" 2>&1 ||
  die "npm ci --omit=dev: $(tail -5 "$work/clone.log")"

step "npm pack (prepack builds dist/)"
npm pack --pack-destination "$work" --loglevel=error >"$work/pack.log" 2>&1 || die "npm pack: $(tail -20 "$work/pack.log")"
tarball=$work/breakwater-$version.tgz
[ -f "$tarball" ] || die "npm pack made no $tarball"
tar -tzf "$tarball" >"$work/files"
grep -qx 'package/dist/cli.js' "$work/files" || die "the tarball has no dist/cli.js"

step "npm install --omit=dev of the tarball into an empty folder"
mkdir "$work/app"
(cd "$work/app" && npm install --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error "$tarball") >"$work/install.log" 2>&1 ||
  die "npm install: $(tail -20 "$work/install.log")"
breakwater=$work/app/node_modules/.bin/breakwater
cd "$work/app"

step "breakwater --version"
[ "$("$breakwater" --version)" = "$version" ] || die "--version did not print $version"
times=()
for _ in 1 2 3 4 5; do
  t0=$(ms)
  "$breakwater" --version >/dev/null
  times+=($(($(ms) - t0)))
done
startup_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)

# the fixtures run from the install's folder, with nothing but Node and what the package installed
cp "$fixtures"/*.mjs "$work/app/"
cat >stdio.toml <<EOF
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
route = "/mcp"

[[upstreams]]
name = "echo-stdio"
command = ["node", "$work/app/echoStdioServer.mjs", "echo-stdio"]
EOF

step "breakwater check --config stdio.toml"
"$breakwater" check --config stdio.toml >check.out 2>&1 || die "check: $(cat check.out)"
grep -q 'echo-stdio' check.out || die "check printed no upstream: $(cat check.out)"

step "a proxy in front of a stdio MCP server"
"$breakwater" --config stdio.toml >stdio.log 2>&1 &
pids+=($!)
node mcpCall.mjs stdio.log echo-stdio || die "stdio: $(tail -5 stdio.log)"
admin=$(node -e 'for (const l of require("fs").readFileSync("stdio.log", "utf8").split("\n"))
  if (l.includes("\"breakwater listening\"")) { console.log(JSON.parse(l).admin); break }')
node dockerHealthcheck.mjs "$admin/ready" "$root/Dockerfile" || die "the Dockerfile's HEALTHCHECK said unhealthy"

step "a proxy in front of an HTTP MCP server"
node echoHttpServer.mjs http.url echo-http &
pids+=($!)
for _ in $(seq 100); do [ -s http.url ] && break || sleep 0.05; done
[ -s http.url ] || die "the HTTP MCP server did not start"
"$breakwater" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --route /mcp --upstream "$(cat http.url)" >http.log 2>&1 &
pids+=($!)
node mcpCall.mjs http.log echo-http || die "http: $(tail -5 http.log)"

stop_all
if node dockerHealthcheck.mjs "$admin/ready" "$root/Dockerfile" 2>/dev/null; then
  die "the Dockerfile's HEALTHCHECK said healthy with Breakwater stopped"
fi
grep -q '"stopped"' stdio.log || die "the stdio proxy did not log 'stopped' on SIGTERM: $(tail -3 stdio.log)"

if [ -x "$old_node" ] && ! node -e "process.exit(require('$root/bin/breakwater.cjs').satisfies('$("$old_node" -p process.versions.node)', require('$root/package.json').engines.node) ? 0 : 1)"; then
  step "breakwater --version with $old_node ($("$old_node" --version)) first on PATH"
  set +e
  PATH="$(dirname "$old_node"):$PATH" "$breakwater" --version >old.out 2>old.err
  status=$?
  set -e
  [ "$status" = 1 ] || die "exit $status on $old_node, not 1: $(cat old.out old.err)"
  [ ! -s old.out ] || die "printed on stdout on $old_node: $(cat old.out)"
  [ "$(wc -l <old.err)" = 1 ] || die "not one line on $old_node: $(cat old.err)"
  grep -q "needs Node.js" old.err || die "the line does not name the Node needed: $(cat old.err)"
  echo "  $(cat old.err)"
else
  step "skipped the older-Node refusal: no $old_node older than the range"
fi

step "installed size (du -sh of the --omit=dev install): $(du -sh "$work/app/node_modules" | cut -f1)"
step "start-up time of the installed command (--version, median of 5): ${startup_ms} ms (runs: ${times[*]})"
step "passed in $((($(ms) - started) / 1000)) s"
