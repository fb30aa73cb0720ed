#!/usr/bin/env bash
# bench/loops.sh: what chatd --threads costs and gives (issue 14). One run,
# one table: fan-out with each room's members spread over the loops, against
# chatd (memory store) with
#   t1        --threads 1, pinned to CPU 0 (the single-loop reference);
#   t2-core0  --threads 2, both loops pinned to CPU 0: the same core, so the
#             figure is the cost of crossing loops (bus, JSON, two Hubs);
#   t2        --threads 2 on CPUs 0 and 1, the load generator sharing CPU 1.
# The load generator is pinned to CPU 1 throughout. On a 2-core machine the
# last row cannot show scaling cleanly (the load generator needs a core);
# docs/benchmarks.md, "Several loops", says how to read it.
#
#   bench/loops.sh            about 3 minutes
#   bench/loops.sh --quick    under a minute
#   BENCH_SKIP_BUILD=1 BENCH_BUILD_DIR=dir bench/loops.sh   the binaries already in dir
# Each server and the load generator run in their own session with autogroup
# nice -10 (bench/boost.sh, as bench/realistic.sh does; root only).
# Loopback only; every server is stopped on exit; every loadgen run has a
# time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && quick=1
build=${BENCH_BUILD_DIR:-build/bench-release}  # not build/bench: in a tree configured at build/, that is the bench/ subdirectory
out=$(mktemp -d /tmp/chatd-loops.XXXXXX)
secret=bench-$(date +%s)-secret
spid=
cleanup() {
  if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
    kill "$spid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$spid" 2>/dev/null || true
  fi
  spid=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "== build (Release) in $build" >&2
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREALTIME_WERROR=OFF >"$out/cmake.log" 2>&1 ||
    { cat "$out/cmake.log"; exit 1; }
  cmake --build "$build" --target chatd loadgen >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
fi
boost=()
[ "$(id -u)" = 0 ] && boost=(setsid bench/boost.sh)
chatd_bin=$build/apps/chatd/chatd
loadgen_bin=$build/bench/loadgen/loadgen
[ "$(nproc)" -ge 2 ] || { echo "bench/loops.sh needs 2 CPUs" >&2; exit 1; }

if [ "$quick" = 1 ]; then
  fan=(--rooms 200 --members 25 --per-room-rates 5,10,20 --step-seconds 1.5 --settle-seconds 0.3)
else
  fan=(--rooms 200 --members 25 --per-room-rates 5,10,15,20,30,40 --step-seconds 3 --settle-seconds 1)
fi

run() {  # run NAME CPUS THREADS
  local name=$1 cpus=$2 threads=$3 log=$out/$1.server.log sport=
  "${boost[@]}" taskset -c "$cpus" "$chatd_bin" --host 127.0.0.1 --port 0 --store memory --data-dir "$(mktemp -d "$out/data.XXXXXX")" \
    --jwt-secret "$secret" --threads "$threads" --message-rate 1000000 --message-burst 1000000 2>"$log" &
  spid=$!
  for _ in $(seq 1 200); do
    sport=$(grep -o ' port=[0-9]*' "$log" 2>/dev/null | head -1 | cut -d= -f2 || true)
    [ -n "$sport" ] && break
    sleep 0.05
  done
  [ -n "$sport" ] || { echo "$name did not start:" >&2; cat "$log" >&2; exit 1; }
  echo "== $name" >&2
  timeout 600 "${boost[@]}" taskset -c 1 "$loadgen_bin" --scenario fanout --port "$sport" --sources 4 --server-pid "$spid" \
    --prefix "$name" --jwt-secret "$secret" "${fan[@]}" --p99-limit-ms 50 --timeout 400 >"$out/$name.txt" \
    2>"$out/$name.loadgen.log" || true
  grep '^result' "$out/$name.txt" | sed 's/^/   /' >&2 || true
  cleanup
}
run t1 0 1
run t2-core0 0 2
run t2 0,1 2

get() {  # get NAME LINE KEY
  local v
  v=$(grep "^result $2" "$out/$1.txt" 2>/dev/null | tail -1 | grep -o " $3=[^ ]*" | head -1 | cut -d= -f2 || true)
  echo "${v:--}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
{
  echo
  echo "chatd --threads ($([ $quick = 1 ] && echo quick || echo full) run, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)): fan-out ${fan[1]} rooms x ${fan[3]} members, loadgen on CPU 1"
  echo
  printf '| %-44s | %10s | %10s | %10s | %9s | %9s |\n' figure t1 t2-core0 t2 "core0/t1" "t2/t1"
  printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" ------------ ------------ ------------ ----------- -----------
  for r in "delivered msg/s, p99 <= 50 ms (best step)|best|delivered_per_s" \
           "p99 ms at the best step|best|p99_ms" \
           "server CPU % at the best step|best|server_cpu_pct" \
           "server CPU us/delivery, equal load|ref|server_cpu_us_per_msg" \
           "p99 ms at equal load (first step)|ref|p99_ms"; do
    IFS='|' read -r label line key <<<"$r"
    a=$(get t1 "$line" "$key"); b=$(get t2-core0 "$line" "$key"); c=$(get t2 "$line" "$key")
    printf '| %-44s | %10s | %10s | %10s | %9s | %9s |\n' "$label" "$a" "$b" "$c" "$(ratio "$b" "$a")" "$(ratio "$c" "$a")"
  done
  echo
  echo "raw results and logs: $out"
} | tee "$out/table.md"
