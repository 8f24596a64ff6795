#!/usr/bin/env bash
# The chaos and load run: Breakwater in front of an upstream that fails in every way, phase by phase.
#   scripts/test-circuit-breaker.sh            10 s phases (about two minutes)
#   scripts/test-circuit-breaker.sh --short    2 s phases (CI)
#   scripts/test-circuit-breaker.sh --soak 600 a ten-minute outage at steady load, RSS over time
# Loopback only; every load loop is bounded in time and count. Exit 1 when a criterion fails.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin="node_modules/.bin/node"
[ -x "$node_bin" ] || node_bin="node"
case "${1:-}" in
  --short) exec "$node_bin" scripts/chaos.ts --phase-seconds 2 --concurrency 8 ;;
  --soak) exec "$node_bin" scripts/chaos.ts --soak-seconds "${2:-600}" ;;
  *) exec "$node_bin" scripts/chaos.ts "$@" ;;
esac
