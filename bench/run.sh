#!/usr/bin/env bash
# bench/run.sh: chatd against the servers its users would pick instead, in
# one run on one machine with the same load (issue 7). Builds chatd and the
# load generator (Release, build/bench-release), then starts each server in turn —
# chatd with the memory store, chatd with SQLite, Node socket.io 4.8
# (bench/peers/node), python-socketio on aiohttp (bench/peers/python) — runs
# the four scenarios against it with bench/loadgen, and prints one table with
# every figure and the ratio chatd/peer per row. Not part of the test suite.
#
# Then the cluster part (issue 13; bench/cluster.sh, sourced from here):
# chatd nodes on one throwaway PostgreSQL and one throwaway Redis (--bus)
# against Node socket.io processes on @socket.io/redis-adapter with their
# own throwaway Redis, fan-out with each room spread over 2 nodes and idle
# connections held by 3 nodes; a second table.
#
# And the realistic part (issue 14; bench/realistic.sh, sourced from here):
# many rooms, a few messages per second to each socket, every delivery its
# own send(), against chatd (SQLite and memory), Node and the floor
# (bench/floor, the lower bound of CPU per delivery); a third table.
#
#   bench/run.sh            full run (about 10-15 minutes, + about 5 for the cluster, + about 8 realistic)
#   bench/run.sh --quick    small sizes, under 3 minutes per part
#   bench/run.sh --cluster [--quick]     the cluster part alone
#   bench/run.sh --realistic [--quick]   the realistic part alone
#   BENCH_SERVERS="chatd-memory node" bench/run.sh --quick   a subset
#   BENCH_CLUSTER=0 BENCH_REALISTIC=0 bench/run.sh           without those parts
#
# The server is pinned to CPU 0 and the load generator to CPU 1 with taskset
# when the machine has two or more CPUs. Loopback only: the servers listen on
# 127.0.0.1, the load generator connects from 127.0.0.1-127.0.0.4. Every
# server this script starts is stopped on exit (trap), and every loadgen run
# has a hard time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0 single=1 cluster=${BENCH_CLUSTER:-1} realistic=${BENCH_REALISTIC:-1} only=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --cluster) [ "$only" = 1 ] || realistic=0; only=1 single=0 cluster=1 ;;
    --realistic) [ "$only" = 1 ] || cluster=0; only=1 single=0 realistic=1 ;;
    *) echo "usage: bench/run.sh [--quick] [--cluster] [--realistic]" >&2; exit 2 ;;
  esac
done
build=${BENCH_BUILD_DIR:-build/bench-release}
servers=${BENCH_SERVERS:-"chatd-memory chatd-sqlite node python"}
out=$(mktemp -d /tmp/chatd-bench.XXXXXX)
secret=bench-$(date +%s)-secret
spid=

# stop_pid PID: SIGTERM, up to 10 s (a node closing 20,000 sockets), then SIGKILL.
stop_pid() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  stop_pid "$spid"
  spid=
}
trap 'cleanup; cluster_cleanup 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

# ---- what it needs ----------------------------------------------------------
echo "== build (Release) in $build" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREALTIME_WERROR=OFF >"$out/cmake.log" 2>&1 ||
  { cat "$out/cmake.log"; exit 1; }
targets=(chatd loadgen)
[ "$cluster" = 1 ] && targets+=(pg_throwaway)
[ "$realistic" = 1 ] && targets+=(floor)
cmake --build "$build" --target "${targets[@]}" >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
chatd_bin=${BENCH_CHATD_BIN:-$build/apps/chatd/chatd}  # BENCH_CHATD_BIN: another build, for a before/after
loadgen_bin=$build/bench/loadgen/loadgen
floor_bin=$build/bench/floor/floor
if [ ! -d bench/peers/node/node_modules ] || [ bench/peers/node/package-lock.json -nt bench/peers/node/node_modules ]; then
  (cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch node_modules)
fi
if [ "$single" = 1 ] && ! /usr/bin/python3 -c 'import socketio, aiohttp' 2>/dev/null; then
  echo "python3-socketio / python3-aiohttp missing: run scripts/install-deps.sh" >&2
  exit 1
fi

srv_cpu="" gen_cpu=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  srv_cpu="taskset -c 0" gen_cpu="taskset -c 1"
  pinning="server on CPU 0, load generator on CPU 1 (taskset)"
else
  pinning="not pinned (fewer than 2 CPUs or no taskset)"
fi
fd_limit=$(ulimit -n)
max_conns=$(( fd_limit - 200 ))
[ "$max_conns" -gt 60000 ] && max_conns=60000

# ---- scenario sizes ---------------------------------------------------------
if [ "$quick" = 1 ]; then
  fan_args=(--rooms 10 --members 50 --rates 20,100,400 --step-seconds 1 --settle-seconds 0.3)
  pair_args=(--pairs 500 --rates 1000,4000 --step-seconds 1 --settle-seconds 0.3)
  idle_args=(--conns 500 --conns-max 1000 --settle-seconds 1)
  storm_args=(--conns 1000 --window 500)
  fan_desc="10 rooms x 50 members"; pair_desc="500 pairs"; idle_lo=500; idle_hi=1000; storm_n=1000
else
  fan_args=(--rooms 50 --members 100 --rates 20,50,100,200,400,800,1500,3000,6000,12000,18000,24000 --step-seconds 4 --settle-seconds 1)
  pair_args=(--pairs 5000 --rates 1000,2500,5000,10000,25000,50000,75000 --step-seconds 4 --settle-seconds 1)
  idle_args=(--conns 5000 --conns-max "$max_conns" --settle-seconds 3)
  storm_args=(--conns "$max_conns" --window 1000)
  fan_desc="50 rooms x 100 members"; pair_desc="5000 pairs"; idle_lo=5000; idle_hi=$max_conns; storm_n=$max_conns
fi

# ---- servers ----------------------------------------------------------------
# await_port PID LOG: waits for the "port=N" of a server's startup line;
# sets sport. Fails if the process exits first or after 10 s.
await_port() {
  local pid=$1 log=$2
  sport=
  for _ in $(seq 1 200); do
    sport=$(grep -o 'port=[0-9]*' "$log" 2>/dev/null | head -1 | cut -d= -f2 || true)
    [ -n "$sport" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}

# start_server NAME LOG: starts it in the background, sets spid and sport.
start_server() {
  local name=$1 log=$2 data
  data=$(mktemp -d "$out/data.XXXXXX")
  case $name in
    chatd-memory | chatd-sqlite)
      $srv_cpu "$chatd_bin" --host 127.0.0.1 --port 0 --store "${name#chatd-}" --data-dir "$data" \
        --jwt-secret "$secret" --log-level info 2>"$log" &
      ;;
    node) $srv_cpu node bench/peers/node/server.js 0 >"$log" 2>&1 & ;;
    python) $srv_cpu /usr/bin/python3 bench/peers/python/server.py 0 >"$log" 2>&1 & ;;
    floor) $srv_cpu "$floor_bin" 0 >"$log" 2>&1 & ;;
  esac
  spid=$!
  await_port "$spid" "$log" && return 0
  echo "$name did not start:" >&2
  cat "$log" >&2
  return 1
}

# run_scenario SERVER SCENARIO ARGS...: one fresh server per scenario, so
# memory and CPU figures start from the same place for every server.
run_scenario() {
  local name=$1 scen=$2
  shift 2
  local log=$out/$name.$scen.server.log res=$out/$name.$scen.txt
  start_server "$name" "$log"
  local jwt=()
  case $name in chatd-*) jwt=(--jwt-secret "$secret") ;; esac
  echo "== $name: $scen" >&2
  timeout 600 $gen_cpu "$loadgen_bin" --scenario "$scen" --port "$sport" --sources 4 --server-pid "$spid" \
    --prefix "${scen:0:1}" "${jwt[@]}" "$@" >"$res" 2>"$out/$name.$scen.loadgen.log" || true
  grep '^result' "$res" | sed 's/^/   /' >&2 || true
  cleanup
}

[ "$single" = 1 ] || servers=""
for s in $servers; do
  run_scenario "$s" fanout "${fan_args[@]}" --p99-limit-ms 50 --timeout 400
  run_scenario "$s" pairs "${pair_args[@]}" --p99-limit-ms 20 --timeout 300
  run_scenario "$s" idle "${idle_args[@]}" --window 500 --timeout 300
  run_scenario "$s" storm "${storm_args[@]}" --timeout 300
done

# ---- the table --------------------------------------------------------------
# get SERVER SCENARIO LINE-PREFIX KEY: one figure from a loadgen result line.
get() {
  local f=$out/$1.$2.txt
  [ -f "$f" ] || { echo "-"; return; }
  local v
  v=$(grep "^result $3" "$f" | tail -1 | grep -o " $4=[^ ]*" | head -1 | cut -d= -f2 | tr -d '"' || true)
  # -1: nothing arrived in the window (the server was past saturation).
  case $v in -1 | -1.0*) v=none ;; esac
  echo "${v:--}"
}

ratio() {  # ratio A B -> A/B or "-"
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "none" || b == "none" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
if [ "$single" = 1 ]; then
rows=()
row() {  # row LABEL SCENARIO LINE KEY SCALE [chatd flavour for the ratio]
  local label=$1 scen=$2 line=$3 key=$4 scale=$5 ref=${6:-chatd-memory} vals=() s v
  for s in chatd-memory chatd-sqlite node python; do
    v=$(get "$s" "$scen" "$line" "$key")
    [ "$v" != "-" ] && [ "$v" != "none" ] && v=$(awk -v x="$v" -v k="$scale" 'BEGIN { printf (x * k >= 100 ? "%.0f" : "%.3g"), x * k }')
    vals+=("$v")
  done
  rows+=("$label|$ref|${vals[0]}|${vals[1]}|${vals[2]}|${vals[3]}")
}
row "fan-out: delivered msg/s, p99 <= 50 ms (best step)" fanout best delivered_per_s 1
row "fan-out: p99 ms at the best step" fanout best p99_ms 1
row "fan-out: loadgen CPU % at the best step" fanout best loadgen_cpu_pct 1
row "fan-out: server CPU % at the best step" fanout best server_cpu_pct 1
row "fan-out: p50 ms at equal load (first step)" fanout ref p50_ms 1
row "fan-out: p99 ms at equal load (first step)" fanout ref p99_ms 1
row "fan-out: server CPU us/delivered msg, equal load" fanout ref server_cpu_us_per_msg 1
row "fan-out: of which kernel (stime), equal load" fanout ref server_sys_us_per_msg 1
row "fan-out: server CPU us/delivered msg, best step" fanout best server_cpu_us_per_msg 1
row "fan-out: loadgen CPU us/delivered msg, equal load" fanout ref loadgen_cpu_us_per_msg 1
row "1:1: acked msg/s, ack p99 <= 20 ms (best step)" pairs best acked_per_s 1 chatd-sqlite
row "1:1: ack p99 ms at the best step" pairs best ack_p99_ms 1 chatd-sqlite
row "1:1: loadgen CPU % at the best step" pairs best loadgen_cpu_pct 1 chatd-sqlite
row "1:1: ack p99 ms at equal load (first step)" pairs ref ack_p99_ms 1 chatd-sqlite
row "1:1: server CPU us/delivered msg, equal load" pairs ref server_cpu_us_per_msg 1 chatd-sqlite
row "1:1: of which kernel (stime), equal load" pairs ref server_sys_us_per_msg 1 chatd-sqlite
row "idle: bytes/connection at $idle_lo" idle "idle level=1" bytes_per_conn 1
row "idle: bytes/connection at $idle_hi" idle "idle level=2" bytes_per_conn 1
row "idle: connections held (goal $idle_hi)" idle "idle level=2" connected 1
row "idle: server RSS MiB at $idle_hi" idle "idle level=2" rss_mib 1
row "storm: connections/s until the first failure" storm storm conns_per_s 1
row "storm: connections made before it (of $storm_n)" storm storm connected 1
row "storm: server CPU us/connection" storm storm server_cpu_us_per_conn 1

{
  echo
  echo "chatd benchmark ($([ $quick = 1 ] && echo quick || echo full) run, $(date -u +%Y-%m-%dT%H:%MZ)); fan-out $fan_desc, 1:1 $pair_desc; $pinning"
  echo "ratio = chatd/peer, where chatd is the memory store except on the 1:1 rows (SQLite, sync=full);"
  echo "'-' = no step stayed under the p99 line (or no figure); 'none' = nothing arrived within the window"
  echo
  printf '| %-52s | %12s | %12s | %10s | %10s | %10s | %10s |\n' "figure" "chatd memory" "chatd sqlite" "node" "python" "chatd/node" "chatd/py"
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "--------------" "--------------" "------------" "------------" "------------" "------------"
  for r in "${rows[@]}"; do
    IFS='|' read -r label ref m q n p <<<"$r"
    c=$m
    [ "$ref" = chatd-sqlite ] && c=$q
    printf '| %-52s | %12s | %12s | %10s | %10s | %10s | %10s |\n' "$label" "$m" "$q" "$n" "$p" "$(ratio "$c" "$n")" "$(ratio "$c" "$p")"
  done
  echo
  echo "raw results and logs: $out"
} | tee "$out/table.md"
fi

# ---- the realistic part -------------------------------------------------------
if [ "$realistic" = 1 ]; then
  # shellcheck source=bench/realistic.sh
  . bench/realistic.sh
fi

# ---- the cluster part ---------------------------------------------------------
if [ "$cluster" = 1 ]; then
  # shellcheck source=bench/cluster.sh
  . bench/cluster.sh
fi
