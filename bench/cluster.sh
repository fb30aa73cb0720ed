# shellcheck shell=bash
# bench/cluster.sh: the cluster part of bench/run.sh (issue 13), sourced by
# it after the single-server part, with its variables and functions
# (chatd_bin, loadgen_bin, out, secret, quick, srv_cpu, gen_cpu, max_conns,
# await_port, stop_pid, get, ratio). Not run on its own.
#
# In one run, one after the other, on the same machine and CPUs:
#   chatd cluster  chatd nodes with --store postgres on one throwaway
#                  PostgreSQL (tests/pg/pg_throwaway: fsync off) and --bus on
#                  one throwaway redis-server (temporary directory, free port,
#                  no persistence);
#   node cluster   Node socket.io 4.8 processes (bench/peers/node) with the
#                  stock @socket.io/redis-adapter on their own throwaway
#                  redis-server.
# Scenarios:
#   fanout  2 nodes; loadgen sends client i to node i mod 2, so every room's
#           members alternate between the nodes and each message crosses
#           Redis. CPU per delivery counts the nodes, Redis and (chatd)
#           PostgreSQL, its backends included.
#   idle    3 nodes; one load generator per node, each from its own four
#           loopback source addresses (127.0.0.2-5, 6-9, 10-13), each held
#           to the same fd limit as the nodes, so together they hold up to
#           3 x (fd limit - 200) connections: more than one process can.
# Every process started here is stopped by cluster_cleanup (run.sh's EXIT
# trap), and every loadgen run has a hard time limit.

cluster_pids=()   # nodes, redis-servers, pg_throwaway: stopped in reverse
pg_pid='' pg_url=''

cluster_cleanup() {
  local i
  for ((i = ${#cluster_pids[@]} - 1; i >= 0; i--)); do stop_pid "${cluster_pids[i]}"; done
  cluster_pids=()
  # pg_throwaway stops its server and removes its directory on SIGTERM.
  stop_pid "$pg_pid"
  pg_pid=
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis: a throwaway redis-server on CPU 0; sets rpid and rport.
start_redis() {
  local dir
  dir=$(mktemp -d "$out/redis.XXXXXX")
  rport=$(free_port)
  $srv_cpu redis-server --bind 127.0.0.1 --port "$rport" --dir "$dir" --save '' --appendonly no \
    --daemonize no --logfile "$dir/redis.log" --maxclients 1000 &
  rpid=$!
  cluster_pids+=("$rpid")
  for _ in $(seq 1 100); do
    grep -q 'Ready to accept connections' "$dir/redis.log" 2>/dev/null && return 0
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.05
  done
  echo "redis-server did not start:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

# start_pg: the throwaway PostgreSQL; sets pg_pid and pg_url. Its stdin is
# a coprocess pipe: if this script dies, pg_throwaway reads end of input
# and removes its server.
start_pg() {
  local line=
  coproc PG { exec $srv_cpu "$build/tests/pg/pg_throwaway" 2>"$out/pg.log"; }
  pg_pid=$PG_PID
  read -r -t 90 -u "${PG[0]}" line || true
  case $line in
    ready\ port=*) pg_url=${line##*url=} ;;
    *) echo "pg_throwaway did not start: $line" >&2; cat "$out/pg.log" >&2; return 1 ;;
  esac
}

# start_nodes KIND N TAG: N nodes of chatd (KIND=chatd) or node (KIND=node)
# on the current Redis (rport); sets nports and npids (comma lists).
start_nodes() {
  local kind=$1 n=$2 tag=$3 i log data port bus ports=() pids=()
  for ((i = 1; i <= n; i++)); do
    log=$out/$kind-cluster.$tag.node$i.log
    if [ "$kind" = chatd ]; then
      data=$(mktemp -d "$out/data.XXXXXX")
      port=$(free_port)
      bus=()
      [ "$chatd_bus" = 1 ] && bus=(--node-id "n$i" --bus "redis://127.0.0.1:$rport")
      $srv_cpu "$chatd_bin" --host 127.0.0.1 --port "$port" --store postgres --pg-url "$pg_url" \
        --data-dir "$data" --jwt-secret "$secret" --log-level info "${bus[@]}" 2>"$log" &
    else
      $srv_cpu node bench/peers/node/server.js 0 "redis://127.0.0.1:$rport" >"$log" 2>&1 &
    fi
    local pid=$!
    cluster_pids+=("$pid")
    if ! await_port "$pid" "$log"; then
      echo "$kind node $i did not start:" >&2
      cat "$log" >&2
      return 1
    fi
    if [ "$kind" = node ] && ! grep -q 'adapter=redis' "$log"; then
      echo "node $i runs without the Redis adapter:" >&2
      cat "$log" >&2
      return 1
    fi
    ports+=("$sport")
    pids+=("$pid")
  done
  nports=$(IFS=,; echo "${ports[*]}")
  npids=$(IFS=,; echo "${pids[*]}")
}

# ---- sizes --------------------------------------------------------------------
if [ "$quick" = 1 ]; then
  cfan_args=(--rooms 10 --members 50 --rates 20,100,400 --step-seconds 1 --settle-seconds 0.3)
  cfan_rooms=10 cfan_members=50
  cidle_lo=500 cidle_hi=1000
else
  cfan_args=(--rooms 50 --members 100 --rates 20,50,100,200,400,800,1500,3000,6000,12000 --step-seconds 4 --settle-seconds 1)
  cfan_rooms=50 cfan_members=100
  cidle_lo=5000 cidle_hi=$max_conns
fi
cfan_sockets=$((cfan_rooms * cfan_members))

# Fan-out rounds, chatd and node taking turns, so that other work on the
# shared machine falls on both alike; the table takes each side's best round.
crounds=${BENCH_CLUSTER_ROUNDS:-$([ "$quick" = 1 ] && echo 1 || echo 2)}

# bus_metrics: both nodes' bus and cluster counters (before and after a
# run: a message dropped during it would be a lost delivery).
bus_metrics() {
  local p ps
  IFS=, read -r -a ps <<<"$nports"
  for p in "${ps[@]}"; do
    curl -s --max-time 5 "http://127.0.0.1:$p/metrics" | grep -E '^chatd_(bus|cluster)_' || echo "chatd_bus_unreadable 1"
  done
}

# cluster_fanout KIND ROUND: 2 nodes, one loadgen across both.
cluster_fanout() {
  local kind=$1 round=$2 extra jwt=()
  start_redis
  start_nodes "$kind" 2 fanout
  extra=$rpid
  if [ "$kind" = chatd ]; then
    extra="$rpid,$pg_pid"
    jwt=(--jwt-secret "$secret")
  fi
  echo "== $kind cluster (2 nodes): fanout, round $round" >&2
  [ "$kind" = chatd ] && [ "$chatd_bus" = 1 ] && bus_metrics >"$out/$kind-cluster.fanout$round.metrics0"
  echo "$kind fanout $round: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/cluster-loadavg.txt"
  timeout 600 $gen_cpu "$loadgen_bin" --scenario fanout --port "$nports" --sources 4 --source-first 2 \
    --server-pid "$npids" --extra-pid "$extra" --prefix "f$kind$round-" "${jwt[@]}" "${cfan_args[@]}" \
    --p99-limit-ms 50 --timeout 400 >"$out/$kind-cluster.fanout$round.txt" 2>"$out/$kind-cluster.fanout$round.loadgen.log" || true
  grep '^result' "$out/$kind-cluster.fanout$round.txt" | sed 's/^/   /' >&2 || true
  grep '^result error' "$out/$kind-cluster.fanout$round.txt" | cut -c1-240 | sed "s/^/$kind fan-out round $round: /" >>"$out/stop-notes.txt" || true
  [ "$kind" = chatd ] && [ "$chatd_bus" = 1 ] && bus_metrics >"$out/$kind-cluster.fanout$round.metrics"
  cluster_cleanup_nodes
}

# cluster_idle KIND: 3 nodes, one loadgen per node (each its own fd limit).
cluster_idle() {
  local kind=$1 jwt=() i gens=()
  start_redis
  start_nodes "$kind" 3 idle
  [ "$kind" = chatd ] && jwt=(--jwt-secret "$secret")
  echo "== $kind cluster (3 nodes): idle, up to 3 x $cidle_hi connections" >&2
  echo "$kind idle: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/cluster-loadavg.txt"
  IFS=, read -r -a ports <<<"$nports"
  IFS=, read -r -a pids <<<"$npids"
  for i in 0 1 2; do
    timeout 600 $gen_cpu "$loadgen_bin" --scenario idle --port "${ports[i]}" --sources 4 --source-first $((2 + 4 * i)) \
      --server-pid "${pids[i]}" --prefix "i${kind}n$i-" "${jwt[@]}" --conns "$cidle_lo" --conns-max "$cidle_hi" \
      --settle-seconds "$([ "$quick" = 1 ] && echo 1 || echo 3)" --window 300 --timeout 300 \
      >"$out/$kind-cluster.idle.node$i.txt" 2>"$out/$kind-cluster.idle.node$i.loadgen.log" &
    gens+=($!)
  done
  for i in "${gens[@]}"; do wait "$i" || true; done
  grep -H '^result' "$out/$kind-cluster.idle.node"*.txt | sed "s|^$out/||; s/^/   /" >&2 || true
  cluster_cleanup_nodes
}

# Stops the nodes and Redis of one scenario, all at once (SIGTERM, then
# SIGKILL after 20 s, noted in stop-notes.txt); PostgreSQL stays for the next.
cluster_cleanup_nodes() {
  local pid t0 left
  t0=$(date +%s.%N)
  for pid in "${cluster_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 200); do
    left=0
    for pid in "${cluster_pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for pid in "${cluster_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60): still running 20 s after SIGTERM (the load generators had just dropped all their connections); killed" >>"$out/stop-notes.txt"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  echo "stopped ${#cluster_pids[@]} processes in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
  cluster_pids=()
}

# ---- run ------------------------------------------------------------------------
chatd_bus=1
# A chatd with --bus refuses it beside the memory store ("shared store");
# one without it names the option as unknown. (--help is not asked: it
# may leave a group out.)
chatd_probe=$(timeout 10 "$chatd_bin" --store memory --bus redis://127.0.0.1:1 --port 0 2>&1 || true)
if ! grep -q 'shared store' <<<"$chatd_probe"; then
  # Before chatd has --bus: its nodes share only PostgreSQL, so a node
  # never sees the other's messages. Only for checking the harness.
  chatd_bus=0
  echo "== chatd has no --bus yet: its nodes do not share messages; figures are not valid" >&2
fi

echo "== throwaway PostgreSQL (pg_throwaway, fsync off)" >&2
start_pg
for ((r = 1; r <= crounds; r++)); do
  cluster_fanout chatd "$r"
  cluster_fanout node "$r"
done
# Each side's best round becomes KIND-cluster.fanout.txt for the table.
for k in chatd node; do
  best_r=1 best_v=-1 per_round=()
  for ((r = 1; r <= crounds; r++)); do
    v=$(get "$k-cluster" "fanout$r" best delivered_per_s)
    per_round+=("$v")
    if [ "$v" != "-" ] && [ "$v" != "none" ] && awk -v a="$v" -v b="$best_v" 'BEGIN { exit !(a > b) }'; then
      best_r=$r best_v=$v
    fi
  done
  cp "$out/$k-cluster.fanout$best_r.txt" "$out/$k-cluster.fanout.txt"
  for m in metrics metrics0; do
    [ -f "$out/$k-cluster.fanout$best_r.$m" ] && cp "$out/$k-cluster.fanout$best_r.$m" "$out/$k-cluster.fanout.$m"
  done
  declare "rounds_$k=$(IFS=/; echo "${per_round[*]}" | sed 's|/| / |g')"
done
cluster_idle chatd
cluster_idle node
cluster_cleanup

# ---- the cluster table -----------------------------------------------------------
# cval KIND SCENARIO LINE KEY: one figure, rounded as the other table does.
cval() {
  local v
  v=$(get "$1-cluster" "$2" "$3" "$4")
  [ "$v" != "-" ] && [ "$v" != "none" ] && v=$(awk -v x="$v" 'BEGIN { printf (x >= 100 ? "%.0f" : "%.3g"), x }')
  echo "$v"
}
# idle_nodes KIND KEY: the three nodes' figures at the second level, "a / b / c".
idle_nodes() {
  local i v vals=()
  for i in 0 1 2; do
    v=$(get "$1-cluster" "idle.node$i" "idle level=2" "$2")
    [ "$v" != "-" ] && v=$(awk -v x="$v" 'BEGIN { printf (x >= 100 ? "%.0f" : "%.3g"), x }')
    vals+=("$v")
  done
  echo "${vals[0]} / ${vals[1]} / ${vals[2]}"
}
# idle_sum KIND KEY: the sum over the three nodes.
idle_sum() {
  local i v sum=0
  for i in 0 1 2; do
    v=$(get "$1-cluster" "idle.node$i" "idle level=2" "$2")
    [ "$v" = "-" ] && { echo "-"; return; }
    sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$sum"
}
# idle_mean KIND KEY: the mean over the three nodes (for the ratio).
idle_mean() {
  local s
  s=$(idle_sum "$1" "$2")
  [ "$s" = "-" ] && { echo "-"; return; }
  awk -v s="$s" 'BEGIN { printf "%.0f", s / 3 }'
}

# bus_sum NAME: a counter summed over both nodes, its growth during the
# best round (after the run minus before it).
bus_sum() {
  local f=$out/chatd-cluster.fanout.metrics f0=$out/chatd-cluster.fanout.metrics0
  [ -f "$f" ] && [ -f "$f0" ] || { echo "-"; return; }
  awk -v k="$1" 'FNR == 1 { file++ } $1 == k { s += (file == 1 ? -$2 : $2); n++ } END { if (n) printf "%.0f", s; else print "-" }' "$f0" "$f"
}
# extra_part KIND LINE I: the I-th extra's (0 Redis, 1 PostgreSQL) µs per delivery.
extra_part() {
  local v
  v=$(get "$1-cluster" fanout "$2" extra_each_us_per_msg)
  [ "$v" = "-" ] && { echo "-"; return; }
  v=$(cut -d, -f$(($3 + 1)) <<<"$v")
  awk -v x="$v" 'BEGIN { if (x == "") print "-"; else printf (x >= 100 ? "%.0f" : "%.3g"), x }'
}
crows=()
crow() {  # crow LABEL CHATD NODE [RATIO-CHATD RATIO-NODE]
  local r
  r=$(ratio "${4:-$2}" "${5:-$3}")
  crows+=("$1|$2|$3|$r")
}
crow "fan-out: deliveries/s, p99 <= 50 ms (best step)" "$(cval chatd fanout best delivered_per_s)" \
  "$(cval node fanout best delivered_per_s)"
crow "  each round's best, deliveries/s" "$rounds_chatd" "$rounds_node" "-" "-"
crow "  regime there: msg/s reaching one socket" "$(cval chatd fanout best per_socket_per_s)" "$(cval node fanout best per_socket_per_s)"
crow "  p99 ms there" "$(cval chatd fanout best p99_ms)" "$(cval node fanout best p99_ms)"
crow "  CPU us/delivery there (nodes + Redis [+ PG])" "$(cval chatd fanout best server_cpu_us_per_msg)" "$(cval node fanout best server_cpu_us_per_msg)"
crow "  of which Redis" "$(extra_part chatd best 0)" "$(extra_part node best 0)"
crow "  of which PostgreSQL" "$(extra_part chatd best 1)" "-" "-" "-"
crow "  server-side CPU % there (100 = one core)" "$(cval chatd fanout best server_cpu_pct)" "$(cval node fanout best server_cpu_pct)"
crow "  chatd bus published/delivered/dropped in it" \
  "$(bus_sum chatd_bus_published_total) / $(bus_sum chatd_bus_delivered_total) / $(bus_sum chatd_bus_dropped_total)" "n/a" "-" "-"
crow "fan-out at equal load (first step): msg/s per socket" "$(cval chatd fanout ref per_socket_per_s)" "$(cval node fanout ref per_socket_per_s)"
crow "  p50 ms" "$(cval chatd fanout ref p50_ms)" "$(cval node fanout ref p50_ms)"
crow "  p99 ms" "$(cval chatd fanout ref p99_ms)" "$(cval node fanout ref p99_ms)"
crow "  CPU us/delivery (nodes + Redis [+ PG])" "$(cval chatd fanout ref server_cpu_us_per_msg)" "$(cval node fanout ref server_cpu_us_per_msg)"
crow "  of which Redis" "$(extra_part chatd ref 0)" "$(extra_part node ref 0)"
crow "  of which PostgreSQL" "$(extra_part chatd ref 1)" "-" "-" "-"
crow "idle: connections held by 3 nodes (goal 3 x $cidle_hi)" "$(idle_sum chatd connected)" "$(idle_sum node connected)"
crow "  per node" "$(idle_nodes chatd connected)" "$(idle_nodes node connected)" "-" "-"
crow "  bytes/connection per node" "$(idle_nodes chatd bytes_per_conn)" "$(idle_nodes node bytes_per_conn)" \
  "$(idle_mean chatd bytes_per_conn)" "$(idle_mean node bytes_per_conn)"
crow "  RSS MiB per node" "$(idle_nodes chatd rss_mib)" "$(idle_nodes node rss_mib)" \
  "$(idle_mean chatd rss_mib)" "$(idle_mean node rss_mib)"

{
  echo
  echo "chatd cluster benchmark ($([ "$quick" = 1 ] && echo quick || echo full) run, $(date -u +%Y-%m-%dT%H:%MZ)); $(nproc) CPUs shared with other work: every figure is"
  echo "from this run and only the ratios between the columns carry over. $pinning; the nodes, Redis and PostgreSQL share CPU 0."
  echo "fan-out: $cfan_rooms rooms x $cfan_members members over 2 nodes (member i on node i mod 2), $cfan_sockets sockets; idle: 3 nodes, fd limit $fd_limit each."
  echo "chatd x2: --store postgres (throwaway, fsync off) + --bus redis; node x2: socket.io 4.8 + @socket.io/redis-adapter (stores nothing)."
  echo "CPU per delivery counts the nodes and Redis, and for chatd PostgreSQL (postmaster and backends) too. ratio = chatd/node; mean over nodes."
  echo "load average (1, 5, 15 min) when each scenario began: $(paste -sd';' "$out/cluster-loadavg.txt" | sed 's/;/; /g')"
  [ "$chatd_bus" = 1 ] || echo "WARNING: this chatd has no --bus: its nodes shared only PostgreSQL, so the chatd column is not a cluster."
  echo
  printf '| %-54s | %22s | %22s | %10s |\n' "figure" "chatd x2 / x3" "node x2 / x3" "chatd/node"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..56})" "------------------------" "------------------------" "------------"
  for r in "${crows[@]}"; do
    IFS='|' read -r label c n q <<<"$r"
    printf '| %-54s | %22s | %22s | %10s |\n' "$label" "$c" "$n" "$q"
  done
  echo
  [ -f "$out/stop-notes.txt" ] && sed 's/^/note: /' "$out/stop-notes.txt"
  echo "raw results and logs: $out"
} | tee "$out/cluster-table.md"
