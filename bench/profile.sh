#!/usr/bin/env bash
# bench/profile.sh: where a server's CPU per delivery goes in the realistic
# regime (issue 14; the figures of docs/benchmarks.md "Where the time goes").
# Builds like bench/run.sh (Release, build/bench-release), starts one server on CPU 0
# and bench/loadgen on CPU 1 (both in their own boosted autogroup, as
# bench/realistic.sh does), sends ROOMS x MEMBERS at RATE msgs/s per room,
# and while it runs records the server with perf: a flat profile (self
# time by library and by function), a kernel call-graph profile (what each
# syscall costs, children included), and the syscalls counted per delivery.
# Not part of the test suite. Needs perf (Debian: linux-perf; installed here
# with apt-get when missing and run as root).
#
#   bench/profile.sh [chatd-memory|chatd-sqlite|node|floor] [ROOMS MEMBERS RATE SECONDS]
#   defaults: chatd-memory 200 25 10 10
#   BENCH_CHATD_BIN=/path/to/other/chatd bench/profile.sh   a before/after
# (this VM has no hardware counters, so the profiles sample the CPU clock
# and there is no instruction count to compare builds by: compare shares.)
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-chatd-memory} rooms=${2:-200} members=${3:-25} rate=${4:-10} secs=${5:-10}
build=${BENCH_BUILD_DIR:-build/bench-release}
out=$(mktemp -d /tmp/chatd-profile.XXXXXX)
secret=profile-$(date +%s)-secret-0123456789abcdef
spid='' lpid=''
trap '[ -n "$lpid" ] && kill "$lpid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; true' EXIT

if ! command -v perf >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends linux-perf >"$out/apt.log" 2>&1 || { cat "$out/apt.log"; exit 1; }
  else
    echo "perf missing: apt-get install linux-perf (Debian)" >&2
    exit 1
  fi
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREALTIME_WERROR=OFF >"$out/cmake.log" 2>&1 ||
  { cat "$out/cmake.log"; exit 1; }
cmake --build "$build" --target chatd loadgen floor >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }

boost=()
[ "$(id -u)" = 0 ] && [ -w /proc/self/autogroup ] && boost=(setsid bench/boost.sh)
log=$out/server.log
case $server in
  chatd-memory | chatd-sqlite)
    "${boost[@]}" taskset -c 0 "${BENCH_CHATD_BIN:-$build/apps/chatd/chatd}" --host 127.0.0.1 --port 0 --store "${server#chatd-}" \
      --data-dir "$out" --jwt-secret "$secret" --log-level info 2>"$log" &
    jwt=(--jwt-secret "$secret") ;;
  node) "${boost[@]}" taskset -c 0 node bench/peers/node/server.js 0 >"$log" 2>&1 & jwt=() ;;
  floor) "${boost[@]}" taskset -c 0 "$build/bench/floor/floor" 0 >"$log" 2>&1 & jwt=() ;;
  *) echo "usage: bench/profile.sh [chatd-memory|chatd-sqlite|node|floor] [ROOMS MEMBERS RATE SECONDS]" >&2; exit 2 ;;
esac
spid=$!
port=''
for _ in $(seq 1 200); do
  port=$(grep -o 'port=[0-9]*' "$log" 2>/dev/null | head -1 | cut -d= -f2 || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$log" >&2; exit 1; }

# One long step; perf runs in its middle.
"${boost[@]}" taskset -c 1 timeout 300 "$build/bench/loadgen/loadgen" --scenario fanout --port "$port" --sources 4 \
  --server-pid "$spid" "${jwt[@]}" --rooms "$rooms" --members "$members" --per-room-rates "$rate" \
  --step-seconds $((3 * secs + 6)) --settle-seconds 2 --timeout 280 --prefix p >"$out/loadgen.txt" 2>"$out/loadgen.log" &
lpid=$!
for _ in $(seq 1 600); do
  grep -q 'sending' "$out/loadgen.log" 2>/dev/null && break
  kill -0 "$lpid" 2>/dev/null || { cat "$out/loadgen.txt" "$out/loadgen.log" >&2; exit 1; }
  sleep 0.1
done
sleep 3
perf record -F 1999 -p "$spid" -o "$out/flat.data" -- sleep "$secs" >/dev/null 2>&1
perf record -F 1999 -g -p "$spid" -o "$out/graph.data" -- sleep "$secs" >/dev/null 2>&1
perf stat -x, -p "$spid" -o "$out/syscalls.csv" \
  -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_poll,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_futex' \
  -- sleep "$secs" >/dev/null 2>&1 || true
wait "$lpid" || true
lpid=''

set +o pipefail  # the reports below end in head
line=$(grep '^step' "$out/loadgen.txt" | tail -1)
get() { grep -o " $1=[^ ]*" <<<"$line" | cut -d= -f2; }
delivered=$(get delivered_per_s)
echo "$server, $rooms rooms x $members members at $rate msgs/s per room: delivered/s $delivered," \
  "CPU us/delivery $(get server_cpu_us_per_msg) (kernel $(get server_sys_us_per_msg)), p99 $(get p99_ms) ms," \
  "CPU $(get server_cpu_pct) % (a step without perf reads lower); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== self time by library"
perf report -i "$out/flat.data" --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
echo
echo "== self time by function (top 45)"
perf report -i "$out/flat.data" --sort dso,sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-160 | head -45
echo
echo "== kernel entry points, children included"
perf report -i "$out/graph.data" --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' |
  grep -E '\[k\] (__x64_sys_|do_syscall_64|entry_SYSCALL|asm_sysvec|asm_common_interrupt|__do_softirq|handle_softirqs|net_rx_action|do_epoll_wait|ep_poll|__sys_sendto|__sys_recvfrom|tcp_sendmsg|tcp_recvmsg|sock_def_readable|schedule)' |
  head -25
echo
echo "== syscalls per delivery (over $secs s)"
awk -F, -v d="$delivered" -v s="$secs" '$1 + 0 > 0 { printf "%-36s %14d  %10.3f per delivery\n", $3, $1, $1 / (d * s) }' "$out/syscalls.csv"
echo
echo "perf data and logs: $out"
