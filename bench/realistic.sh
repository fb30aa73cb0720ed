# shellcheck shell=bash
# bench/realistic.sh: the realistic regime of bench/run.sh (issue 14),
# sourced by it with its variables and functions (loadgen_bin, out, secret,
# quick, gen_cpu, pinning, start_server, cleanup). Not run on its own.
#
# Real chat: many rooms, each member receiving a few messages per second,
# so each delivery reaches its socket alone and is its own send() (nothing
# for a server to batch). Two shapes, each at rising per-room rates, the
# rooms taking turns so that each room's messages are evenly spaced
# (loadgen --per-room-rates):
#   200 rooms x 25 members   (5,000 sockets; N msgs/s per room = N per socket)
#   1,000 rooms x 5 members  (5,000 sockets; 5x the messages for the same deliveries)
# Servers, one after the other, each fresh, on CPU 0 (load generator on
# CPU 1): chatd --store sqlite (default flags), chatd --store memory, Node
# socket.io 4.8 (bench/peers/node), and the floor (bench/floor: one epoll
# loop doing one send per delivery and no protocol work: the lower bound).
# A server that goes over the 50 ms p99 line (or falls behind) is not run
# at the higher rates. The table: per shape, rate and server, deliveries/s,
# server CPU per delivery (utime + stime from /proc), p99, server CPU % of
# its core, and the CPU-per-delivery ratios chatd/Node and chatd/floor; then
# each server's highest rate under the line.

real_servers=${BENCH_REALISTIC_SERVERS:-"chatd-sqlite chatd-memory node floor"}
# On a machine shared with builds, a server that gets a third of its core
# measures the neighbours, not itself. So, as root, each server and load
# generator of this part runs in a session of its own whose scheduler
# autogroup has nice -10 (bench/boost.sh; plain nice does not reach across
# autogroups), the same for every server. BENCH_REALISTIC_BOOST=0: off.
# (Restored at the end: the cluster part that may follow runs as before.)
real_saved=("$srv_cpu" "$gen_cpu" "$pinning")
if [ "$(id -u)" = 0 ] && [ "${BENCH_REALISTIC_BOOST:-1}" = 1 ] && [ -w /proc/self/autogroup ]; then
  srv_cpu="setsid bench/boost.sh $srv_cpu" gen_cpu="setsid bench/boost.sh $gen_cpu"
  pinning="$pinning; each in its own session, autogroup nice -10 (bench/boost.sh)"
fi
if [ "$quick" = 1 ]; then
  real_rates=10,20
  real_timing=(--step-seconds 2 --settle-seconds 0.5)
else
  real_rates=5,10,15,20
  real_timing=(--step-seconds 5 --settle-seconds 1.5)
fi
real_shapes=("200 25" "1000 5")

# real_run SERVER ROOMS MEMBERS: one loadgen run against a fresh server.
real_run() {
  local name=$1 rooms=$2 members=$3 tag=real-$2x$3 jwt=()
  start_server "$name" "$out/$name.$tag.server.log"
  case $name in chatd-*) jwt=(--jwt-secret "$secret") ;; esac
  echo "== $name: realistic $rooms rooms x $members members, per-room rates $real_rates" >&2
  echo "$name $rooms x $members: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/realistic-loadavg.txt"
  timeout 600 $gen_cpu "$loadgen_bin" --scenario fanout --port "$sport" --sources 4 --server-pid "$spid" \
    --prefix "r$rooms-" "${jwt[@]}" --rooms "$rooms" --members "$members" --per-room-rates "$real_rates" \
    "${real_timing[@]}" --p99-limit-ms 50 --timeout 400 >"$out/$name.$tag.txt" 2>"$out/$name.$tag.loadgen.log" || true
  grep '^step\|^result error' "$out/$name.$tag.txt" | cut -d' ' -f1-4,7,11,14 | sed 's/^/   /' >&2 || true
  cleanup
}

for shape in "${real_shapes[@]}"; do
  read -r rooms members <<<"$shape"
  for s in $real_servers; do real_run "$s" "$rooms" "$members"; done
done

# real_get SERVER SHAPE RATE KEY: KEY of the step at that per-room rate, or "-".
real_get() {
  local f=$out/$1.real-$2.txt
  [ -f "$f" ] || { echo "-"; return; }
  awk -v rate="$3" -v key="$4" '
    $1 == "step" {
      r = ""; v = ""
      for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "per_room_per_s") r = kv[2]
        if (kv[1] == key) v = kv[2]
      }
      if (r + 0 == rate + 0) { found = v }
    }
    END { if (found == "" || found + 0 < 0) print "-"; else print found }' "$f"
}
# real_best SERVER SHAPE KEY: KEY of the best step under the line, or "-".
real_best() {
  local f=$out/$1.real-$2.txt v
  [ -f "$f" ] || { echo "-"; return; }
  v=$(grep '^result best' "$f" | grep -o " $3=[^ ]*" | head -1 | cut -d= -f2 || true)
  echo "${v:--}"
}
fmt() {  # fmt VALUE: 3 significant digits, none below 100
  case $1 in -) echo "-" ;; *) awk -v x="$1" 'BEGIN { printf (x >= 100 ? "%.0f" : "%.3g"), x }' ;; esac
}
c_srv() {  # the column label of a server
  case $1 in
    chatd-sqlite) echo "chatd (SQLite)" ;; chatd-memory) echo "chatd (memory)" ;; node) echo "Node socket.io 4.8" ;;
    floor) echo "floor (bench/floor)" ;; *) echo "$1" ;;
  esac
}

{
  echo
  echo "chatd realistic benchmark ($([ "$quick" = 1 ] && echo quick || echo full) run, $(date -u +%Y-%m-%dT%H:%MZ)); $(nproc) CPUs shared with other work: the"
  echo "ratios between servers of this run are what carries over. $pinning. Each delivery is its own send()."
  echo "load average (1, 5, 15 min) when each run began: $(paste -sd';' "$out/realistic-loadavg.txt" | sed 's/;/; /g')"
  echo "CPU = server utime + stime from /proc over the measured window; /node and /floor = chatd's CPU per delivery over theirs."
  echo "'-' = not run (the server was over the 50 ms p99 line, or behind, at a lower rate) or no figure."
  for shape in "${real_shapes[@]}"; do
    read -r rooms members <<<"$shape"
    sh=${rooms}x$members
    echo
    echo "$rooms rooms x $members members ($((rooms * members)) sockets): msgs/s per room = msgs/s reaching each socket$([ "$members" != 25 ] && echo ' (x5 messages sent for the same deliveries)')"
    echo
    printf '| %8s | %-20s | %12s | %10s | %9s | %7s | %7s | %7s |\n' "per room" "server" "delivered/s" "CPU us/del" "p99 ms" "CPU %" "/node" "/floor"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "----------" "----------------------" "--------------" "------------" "-----------" "---------" "---------" "---------"
    IFS=, read -r -a rates <<<"$real_rates"
    for r in "${rates[@]}"; do
      nu=$(real_get node "$sh" "$r" server_cpu_us_per_msg)
      fu=$(real_get floor "$sh" "$r" server_cpu_us_per_msg)
      for s in $real_servers; do
        d=$(real_get "$s" "$sh" "$r" delivered_per_s)
        [ "$d" = "-" ] && continue
        u=$(real_get "$s" "$sh" "$r" server_cpu_us_per_msg)
        vs_n="" vs_f=""
        case $s in chatd-*) vs_n=$(ratio "$u" "$nu") vs_f=$(ratio "$u" "$fu") ;; esac
        printf '| %8s | %-20s | %12s | %10s | %9s | %7s | %7s | %7s |\n' "$r" "$(c_srv "$s")" "$(fmt "$d")" "$(fmt "$u")" \
          "$(fmt "$(real_get "$s" "$sh" "$r" p99_ms)")" "$(fmt "$(real_get "$s" "$sh" "$r" server_cpu_pct)")" "$vs_n" "$vs_f"
      done
    done
  done
  echo
  echo "Highest rate under the 50 ms p99 line (every message delivered in time), deliveries/s (per-room rate):"
  echo
  printf '| %-16s |' "shape"
  for s in $real_servers; do printf ' %-22s |' "$(c_srv "$s")"; done
  printf ' %13s | %13s |\n' "SQLite/node" "memory/node"
  printf '|%s|' "------------------"
  for _ in $real_servers; do printf '%s|' "------------------------"; done
  printf '%s|%s|\n' "---------------" "---------------"
  for shape in "${real_shapes[@]}"; do
    read -r rooms members <<<"$shape"
    sh=${rooms}x$members
    printf '| %-16s |' "$rooms x $members"
    for s in $real_servers; do
      d=$(real_best "$s" "$sh" delivered_per_s)
      [ "$d" = "-" ] && printf ' %-22s |' "none" && continue
      printf ' %-22s |' "$(fmt "$d") ($(real_best "$s" "$sh" per_room_per_s | awk '{ printf "%g", $1 }')/s)"
    done
    nb=$(real_best node "$sh" delivered_per_s)
    printf ' %13s | %13s |\n' "$(ratio "$(real_best chatd-sqlite "$sh" delivered_per_s)" "$nb")" \
      "$(ratio "$(real_best chatd-memory "$sh" delivered_per_s)" "$nb")"
  done
  echo
  echo "(the highest step run is $(echo "$real_rates" | awk -F, '{ print $NF }') msgs/s per room: a server under the line there may go higher)"
  echo "raw results and logs: $out"
} | tee "$out/realistic-table.md"

srv_cpu=${real_saved[0]} gen_cpu=${real_saved[1]} pinning=${real_saved[2]}
