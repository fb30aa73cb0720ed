#!/usr/bin/env bash
# bench/memory.sh: chatd's memory per idle connection joined to a chat room
# (issue 14), and with --heaptrack where the bytes go. Starts chatd (memory
# store, loopback, ephemeral port), has bench/loadgen connect ROOMS x MEMBERS
# clients (WebSocket, JWT), create each room with its members and join it,
# then sends nothing (the fan-out scenario at a rate whose first message is
# 1,000 s away). After the joins and a settle (long enough for the
# transport's memory release, LwsOptions::memory_release_interval) it prints
#   result memory conns=N rss_kib=... baseline_kib=... bytes_per_conn=...
# where bytes/connection = (RSS now - RSS before the first connection) / N.
#
#   bench/memory.sh [ROOMS] [MEMBERS]         default 100 x 50 (5,000 connections)
#   bench/memory.sh --heaptrack [ROOMS] [MEMBERS]
#       also runs chatd under heaptrack (scripts/extra-packages.txt), stops it
#       with SIGKILL while idle so that everything still allocated shows as
#       "leaked", and prints the bytes per connection by allocation site
#       (its RSS figure then includes heaptrack's own overhead).
#
# Uses build/bench-release (Release), as run.sh does, and builds chatd and loadgen
# there; BENCH_BUILD=DIR takes another build directory as it is.
# Not part of the test suite. Loopback only; everything it starts is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
heap=0
if [ "${1:-}" = --heaptrack ]; then heap=1; shift; fi
rooms=${1:-100} members=${2:-50}
settle=${MEMORY_SETTLE:-8}
conns=$((rooms * members))

bdir=${BENCH_BUILD:-}
if [ -z "$bdir" ]; then
  bdir=build/bench-release
  cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir" -j2 --target chatd loadgen >/dev/null
fi
chatd=$(cd "$bdir" && pwd)/apps/chatd/chatd
loadgen=$(cd "$bdir" && pwd)/bench/loadgen/loadgen

out=$(mktemp -d)
pid= lpid=
cleanup() {
  [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT
secret=bench-memory-secret-bench-memory-secret

wrap=()
[ "$heap" = 1 ] && wrap=(heaptrack -o "$out/heap")
"${wrap[@]}" "$chatd" --host 127.0.0.1 --port 0 --store memory --data-dir "$out" --jwt-secret "$secret" \
  --log-level info >"$out/wrap.log" 2>"$out/chatd.log" &
pid=$!
port=
for _ in $(seq 1 400); do
  port=$(grep -o 'port=[0-9]*' "$out/chatd.log" 2>/dev/null | head -1 | cut -d= -f2 || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "chatd did not start" >&2; cat "$out/chatd.log" >&2; exit 1; }
# The chatd process itself (heaptrack runs it as a child).
spid=$(pgrep -n -f "^$chatd --host 127.0.0.1" || echo "$pid")
rss() { awk '/VmRSS/ { print $2 }' "/proc/$spid/status"; }
rss0=$(rss)

"$loadgen" --scenario fanout --port "$port" --sources 4 --jwt-secret "$secret" --rooms "$rooms" \
  --members "$members" --rates 0.001 --step-seconds 1000 --window 500 --timeout 900 \
  >"$out/loadgen.out" 2>"$out/loadgen.log" &
lpid=$!
ready=0
for _ in $(seq 1 3000); do  # at most 300 s
  grep -q "rooms ready" "$out/loadgen.log" && { ready=1; break; }
  kill -0 "$lpid" 2>/dev/null || break
  sleep 0.1
done
[ "$ready" = 1 ] || { echo "the clients did not all join" >&2; cat "$out/loadgen.log" "$out/loadgen.out" >&2; exit 1; }
sleep "$settle"
rss1=$(rss)
echo "result memory conns=$conns rss_kib=$rss1 baseline_kib=$rss0 bytes_per_conn=$(( (rss1 - rss0) * 1024 / conns ))"

if [ "$heap" = 1 ]; then
  kill -9 "$spid"
  wait "$pid" 2>/dev/null || true
  pid=
  heaptrack_print --print-leaks 0 --print-peaks 0 --print-allocators 0 --print-temporary 0 \
    -F "$out/leaked.fg" --flamegraph-cost-type leaked "$out"/heap.* >/dev/null 2>&1
  # Each stack's bytes go to the innermost frame of chatd's own code.
  awk -v n="$conns" '{
      v = $NF; $NF = ""; k = "libraries only"
      m = split($0, f, ";")
      for (i = m; i >= 1; i--) if (f[i] ~ /realtime::|chatd::/ && f[i] !~ /^ *std::/) { k = f[i]; break }
      sub(/\(.*$/, "", k); sum[k] += v; total += v
    } END {
      printf "heap still allocated: %.0f bytes per connection\n", total / n > "/dev/stderr"
      for (k in sum) if (sum[k] / n >= 8) printf "%8.0f  %s\n", sum[k] / n, k
    }' "$out/leaked.fg" | sort -k1,1nr
fi
