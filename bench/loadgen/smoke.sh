#!/usr/bin/env bash
# bench-smoke (ctest label bench-smoke): starts a real chatd (memory store,
# ephemeral port) and has loadgen connect 8 clients in 2 rooms, send a few
# messages and check that every ack and every message:new arrived. Keeps the
# load generator from rotting; takes a few seconds. Usage: smoke.sh CHATD LOADGEN
set -euo pipefail
chatd=$1 loadgen=$2
shift 2
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
secret=bench-smoke-secret
"$chatd" --host 127.0.0.1 --port 0 --store memory --data-dir "$dir" --jwt-secret "$secret" --log-level info 2>"$dir/log" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep -o 'port=[0-9]*' "$dir/log" | head -1 | cut -d= -f2 || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "chatd did not start"; cat "$dir/log"; exit 1; }
"$loadgen" --scenario smoke --port "$port" --sources 2 --jwt-secret "$secret" --server-pid "$pid" \
  --rooms 2 --members 4 --rates 10 --step-seconds 1 --settle-seconds 0.2 --timeout 15 "$@"
