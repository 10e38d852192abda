#!/usr/bin/env bash
# finwait's benchmark: direct loopback, finwait, finwait with a teardown fault on another
# connection of the same proxy, finwait after a fault came and went on the measured connections,
# finwait while faults churn on other connections (tests/bench/live_faults.sh), finwait with
# the teardown verdicts off (finwait-verdicts: on is the default), HAProxy (TCP
# mode), and any --extra proxy, side by side with the same peers in one run. Not a pass/fail test: it prints a table and writes
# out/bench/results.json and out/bench/bench.png.
#
#   tests/bench/run.sh [--quick] [--reps N] [--intercept] [--extra NAME='CMD {listen_port} {upstream_port}']
#
# --intercept adds finwait+intercept (root): the peers dial a server's own address and finwait
# takes the connections by an iptables REDIRECT (transparent interception). Opt-in because the
# nat rules turn connection tracking on in the run's namespace, for every contender.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

args=("$@") reps=5 quick=0 extras=() intercept=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; reps=3 ;;
    --reps) reps=$2; shift ;;
    --extra) extras+=("$2"); shift ;;
    --intercept) intercept=1 ;;
    *) echo "usage: $0 [--quick] [--reps N] [--intercept] [--extra NAME='CMD {listen_port} {upstream_port}']" >&2; exit 2 ;;
  esac
  shift
done
bulk_mib=$(( quick ? 512 : 2048 )); rr_count=$(( quick ? 5000 : 20000 )); conn_secs=$(( quick ? 1 : 2 ))
idle_n=10000

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${FINWAIT_BENCH_NETNS:-}" ]; then
  BUILD_DIR=build-bench CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release" bash .ci/setup >/dev/null
  # The measurements run in a network namespace of their own when root can make one: the
  # packet contender's iptables chains, the ports and the TIME_WAIT sockets of the run never
  # touch the host's. (Installing and building above needed the host's network.)
  if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    exec env FINWAIT_BENCH_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' \
      "$0" ${args[@]+"${args[@]}"}
  fi
fi
fw=$root/build-bench/finwait peer=$root/build-bench/tests/bench/bench_peer
out=$root/out/bench; mkdir -p "$out"; work=$(mktemp -d)
# 10,000 idle connections cost a proxy 20,000 descriptors: raise the limit as far as allowed
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
max_idle=$(( ( $(ulimit -n) - 200 ) / 2 ))
[ "$idle_n" -gt "$max_idle" ] && { echo "fd limit $(ulimit -n): measuring $max_idle idle connections instead of $idle_n" >&2; idle_n=$max_idle; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A free pair of ports (p, p+1) on loopback, below the ephemeral range so that no client socket
# of the benchmark itself can be holding one, and used by no socket in any state.
eph_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
# grep reads to the end here (no -q): under pipefail a writer killed by SIGPIPE fails the test
free_pair() {
  local p
  while :; do
    p=$(( 10000 + RANDOM % (eph_low - 10002) ))
    ss -tanH "( sport = :$p or sport = :$((p+1)) )" | grep . >/dev/null || { echo $p; return; }
  done
}
wait_port() {
  for _ in $(seq 250); do ss -ltnH "sport = :$1" | grep . >/dev/null && return; sleep 0.02; done
  echo "port $1 never opened; logs:" >&2; tail -n 5 "$work"/*.log >&2; exit 1
}

# CPU seconds (user+system) of a process and its children so far
cpu_of() { [ -z "$1" ] && { echo 0; return; }; awk '{print ($14+$15+$16+$17)/100}' "/proc/$1/stat"; }
# resident KiB of a process and all its descendants (a wrapper script's server is a child)
rss_of() { [ -z "$1" ] && { echo 0; return; }
  local t=0 p; for p in $1 $(descendants "$1"); do
    t=$(( t + $(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo $t; }
descendants() { local c; for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done; }
# the process listening on a loopback port: the one that accepts, and so holds, its connections
listener_pid() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

up=$(free_pair); "$peer" serve "$up" & pids+=($!); wait_port "$up"; wait_port $((up+1))

names=(direct) ports=("$up") procs=("")
fw_yaml() { # listen port, faults, [more top-level YAML, [more keys of each proxy]]
  cat <<EOF
log: {level: warn}
${3:-}
proxies:
  - {name: bulk, listen: 127.0.0.1:$1, upstream: 127.0.0.1:$up, faults: $2${4:+, $4}}
  - {name: echo, listen: 127.0.0.1:$(($1+1)), upstream: 127.0.0.1:$((up+1)), faults: $2${4:+, $4}}
EOF
}
start_finwait() { # name, faults, [more top-level YAML, [finwait's options, [proxy keys]]]
  local p; p=$(free_pair)
  fw_yaml "$p" "$2" "${3:-}" "${5:-}" > "$work/$1.yaml"
  # shellcheck disable=SC2086 # $4 is a list of options
  "$fw" -c "$work/$1.yaml" ${4:-} 2>>"$work/$1.log" & pids+=($!); wait_port "$p"; wait_port $((p+1))
  names+=("$1") ports+=("$p") procs+=("$!")
}
start_finwait finwait "[]"
start_finwait finwait+fault "[{type: delay_fin, delay: 1s, match: {client: 127.0.0.2/32}}]"
# the faulted connection the other flows must not pay for, held open during the run
"$peer" idle 127.0.0.1 $(( ${ports[2]} + 1 )) 1 127.0.0.2 100000 >/dev/null & pids+=($!)
# the same with a packet-level fault, when this machine allows it (root, CAP_NET_ADMIN): only
# the faulted flow may go through the queue
if [ "$(id -u)" = 0 ] && "$fw" --check -c examples/drop_fin.yaml >/dev/null 2>&1 &&
   grep -q "CapEff:.*" /proc/self/status && command -v iptables-restore >/dev/null; then
  start_finwait finwait+packet "[{type: drop_fin, leg: client, from: peer, match: {client: 127.0.0.2/32}}]"
  "$peer" idle 127.0.0.1 $(( ${ports[3]} + 1 )) 1 127.0.0.2 100000 >/dev/null & pids+=($!)
fi
# the teardown verdicts cost: finwait (verdicts on by default) beside the same with them off
start_finwait finwait-verdicts "[]" "" "" "verdicts: {enabled: false}"
# transparent interception: the peers dial a second server like the first by its own address
# and ports; finwait takes the connections by REDIRECT and dials their original destination
if [ "$intercept" = 1 ]; then
  [ "$(id -u)" = 0 ] && command -v iptables-restore >/dev/null ||
    { echo "bench: --intercept needs root and iptables" >&2; exit 2; }
  up2=$(free_pair); "$peer" serve "$up2" & pids+=($!); wait_port "$up2"; wait_port $((up2+1))
  cat > "$work/finwait+intercept.yaml" <<EOF
log: {level: warn}
proxies:
  - {name: intercept, listen: ':0', intercept: {ports: [$up2, $((up2+1))], destinations: [127.0.0.1/32]}}
EOF
  "$fw" -c "$work/finwait+intercept.yaml" 2>>"$work/finwait+intercept.log" & pids+=($!)
  names+=(finwait+intercept) ports+=("$up2") procs+=("$!")
  for _ in $(seq 250); do iptables-save -t nat | grep -- "--dport $((up2+1))" >/dev/null && break; sleep 0.02; done
  iptables-save -t nat | grep -- "--dport $((up2+1))" >/dev/null ||
    { echo "bench: finwait+intercept never installed its rules; its log:" >&2; cat "$work/finwait+intercept.log" >&2; exit 1; }
fi
# faults attached to and detached from open connections: finwait+came-went, finwait+churn
. tests/bench/live_faults.sh

hp=$(free_pair)
cat > "$work/haproxy.cfg" <<EOF
global
  maxconn $(( ( $(ulimit -n) - 100 ) / 2 ))
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
listen bulk
  bind 127.0.0.1:$hp
  server s 127.0.0.1:$up
listen echo
  bind 127.0.0.1:$((hp+1))
  server s 127.0.0.1:$((up+1))
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!)
wait_port "$hp"; names+=(haproxy) ports+=("$hp") procs+=("$!")

for e in "${extras[@]}"; do
  n=${e%%=*} cmd=${e#*=} p=$(free_pair)
  # the extra proxy gets one listener per figure: bulk on p, echo on p+1
  c1=${cmd//\{listen_port\}/$p}; c1=${c1//\{upstream_port\}/$up}
  c2=${cmd//\{listen_port\}/$((p+1))}; c2=${c2//\{upstream_port\}/$((up+1))}
  bash -c "exec $c1" >"$work/$n.1.log" 2>&1 & pids+=($!); p1=$!
  bash -c "exec $c2" >"$work/$n.2.log" 2>&1 & pids+=($!)
  wait_port "$p"; wait_port $((p+1)); names+=("$n") ports+=("$p") procs+=("$p1")
done

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s-%s", lo, hi}'; }

# Run a peer measurement of contender $1; if it fails, say which one and show its log.
measure() {
  local n=$1; shift
  case $n in
    finwait+came-went) went_measure "$@" ;;
    *) "$peer" "$@" ;;
  esac || { echo "bench: '$*' failed through $n; its log:" >&2
                    tail -n 20 "$work/$n".*log "$work/$n.log" 2>/dev/null >&2; exit 1; }
}

declare -A R
echo "measuring ${#names[@]} contenders, $reps repetitions each (bulk ${bulk_mib} MiB, rr $rr_count, conns ${conn_secs}s, idle $idle_n)" >&2
for rep in $(seq "$reps"); do
  for i in "${!names[@]}"; do
    n=${names[$i]} p=${ports[$i]} pid=${procs[$i]}
    if [ "$n" = finwait+churn ]; then churn_start; fi
    c0=$(cpu_of "$pid")
    fig=$(measure "$n" bulk 127.0.0.1 "$p" "$bulk_mib" 1)
    c1=$(cpu_of "$pid")
    read -r g cs <<< "$fig" # came-went: finwait's CPU seconds during the measurement proper
    R[$n,bulk1]+="$g "
    R[$n,cpu]+="$(awk -v a="$c0" -v b="$c1" -v s="$cs" -v g="$bulk_mib" 'BEGIN{printf "%.3f", (s == "" ? b-a : s)/(g*1048576/1e9)}') "
    fig=$(measure "$n" bulk 127.0.0.1 "$p" $(( bulk_mib / 4 )) 4)
    R[$n,bulk4]+="${fig%% *} "
    rr_out=$(measure "$n" rr 127.0.0.1 $((p+1)) "$rr_count")
    read -r p50 p99 <<< "$rr_out"
    R[$n,p50]+="$p50 " R[$n,p99]+="$p99 "
    R[$n,conns]+="$(measure "$n" conns 127.0.0.1 $((p+1)) "$conn_secs") "
    if [ "$n" = finwait+churn ]; then churn_stop; fi
  done
  echo "  repetition $rep done" >&2
done
for i in "${!names[@]}"; do # memory per idle connection, once per contender
  n=${names[$i]} p=${ports[$i]}
  [ -z "${procs[$i]}" ] && { R[$n,idle]="- "; continue; }
  # measured on the process that accepts the idle connections (the echo listener, p+1), found
  # by its socket: an --extra contender serves p and p+1 from two processes, often under a
  # wrapper, and the RSS of the wrong one grows by nothing
  pid=$(listener_pid $((p+1)))
  [ -z "$pid" ] && { echo "bench: $n: no process found listening on $((p+1)): idle not measured" >&2
                     R[$n,idle]="- "; continue; }
  if [ "$n" = finwait+churn ]; then churn_start; fi
  before=$(rss_of "$pid")
  coproc IDLE { "$peer" idle 127.0.0.1 $((p+1)) "$idle_n"; }
  read -r _ <&"${IDLE[0]}"; sleep 1
  after=$(rss_of "$pid")
  exec {IDLE[1]}>&-; wait "$IDLE_PID" 2>/dev/null || true
  # 10,000 connections held by a process grow its RSS by pages at least: no growth means the
  # figure would be about another process, and a 0.00 would lie
  if [ "$after" -le "$before" ]; then
    echo "bench: $n: the RSS of pid $pid (listening on $((p+1))) did not grow with $idle_n idle connections ($before -> $after KiB): idle not measured" >&2
    R[$n,idle]="- "
  else
    R[$n,idle]=$(awk -v a="$before" -v b="$after" -v n="$idle_n" 'BEGIN{printf "%.2f", (b-a)*1024/n/1024}')" "
  fi
  if [ "$n" = finwait+churn ]; then churn_stop; fi
  sleep 1
done

figs=(bulk1 bulk4 p50 p99 conns cpu idle)
units=("Gbit/s" "Gbit/s" "us" "us" "conn/s" "CPU s/GB" "KiB/conn")
med() { echo ${R[$1,$2]} | tr ' ' '\n' | grep -v '^$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "-") print "-"; else printf "%.2f", a/b }'; }
{
  printf "%-15s" "figure"; for n in "${names[@]}"; do printf "%-26s" "$n"; done; echo
  for k in "${!figs[@]}"; do
    f=${figs[$k]}; printf "%-15s" "$f (${units[$k]})" | cut -c1-15 | tr -d '\n'
    for n in "${names[@]}"; do
      m=$(med "$n" "$f"); s=$(echo ${R[$n,$f]} | tr ' ' '\n' | grep -v '^$' | spread)
      printf "%-26s" "$m [$s]"
    done; echo
  done
  echo
  echo "ratios of medians, same run:"
  for n in "${names[@]}"; do
    [ "$n" = direct ] && continue
    printf "  %-14s vs direct: bulk1 %s bulk4 %s p50 %s conns %s" "$n" \
      "$(ratio "$(med "$n" bulk1)" "$(med direct bulk1)")" "$(ratio "$(med "$n" bulk4)" "$(med direct bulk4)")" \
      "$(ratio "$(med "$n" p50)" "$(med direct p50)")" "$(ratio "$(med "$n" conns)" "$(med direct conns)")"
    case $n in finwait+came-went|finwait+churn|finwait+intercept|finwait-verdicts) printf " | vs finwait: bulk1 %s bulk4 %s p50 %s p99 %s conns %s cpu %s" \
        "$(ratio "$(med "$n" bulk1)" "$(med finwait bulk1)")" "$(ratio "$(med "$n" bulk4)" "$(med finwait bulk4)")" \
        "$(ratio "$(med "$n" p50)" "$(med finwait p50)")" "$(ratio "$(med "$n" p99)" "$(med finwait p99)")" \
        "$(ratio "$(med "$n" conns)" "$(med finwait conns)")" "$(ratio "$(med "$n" cpu)" "$(med finwait cpu)")" ;; esac
    if [ "$n" != haproxy ]; then
      printf " | vs haproxy: bulk1 %s bulk4 %s p50 %s conns %s idle %s" \
        "$(ratio "$(med "$n" bulk1)" "$(med haproxy bulk1)")" "$(ratio "$(med "$n" bulk4)" "$(med haproxy bulk4)")" \
        "$(ratio "$(med "$n" p50)" "$(med haproxy p50)")" "$(ratio "$(med "$n" conns)" "$(med haproxy conns)")" \
        "$(ratio "$(med "$n" idle)" "$(med haproxy idle)")"
    fi
    echo
  done
  echo
  echo "finwait+came-went: a ${went_ms} ms latency toxic added and removed through the API on the measured connections before each figure"
  echo "finwait+churn: a ${churn_ms} ms latency for 127.0.0.2 attached/detached by SIGHUP every ${churn_period_ms} ms (finwait: ${churn_reload_ms} ms CPU per reload), per stretch:"
  for note in "${churn_notes[@]}"; do echo "  $note"; done
  echo
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
} | tee "$out/table.txt"

{
  echo "{\"machine\": {\"cores\": $(nproc), \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"kernel\": \"$(uname -r)\"},"
  echo " \"repetitions\": $reps, \"results\": {"
  first=1
  for n in "${names[@]}"; do
    [ $first = 1 ] || echo ","; first=0
    printf '  "%s": {' "$n"; sep=""
    for f in "${figs[@]}"; do
      printf '%s"%s": {"median": %s, "samples": [%s]}' "$sep" "$f" "$(med "$n" "$f" | sed 's/^-$/null/')" \
        "$(echo ${R[$n,$f]} | sed 's/-/null/g; s/ /, /g')"; sep=", "
    done
    printf '}'
  done
  echo; echo " },"
  # how the churn went: per stretch of the churn contender's figures (live_faults.sh)
  printf ' "churn": {"period_ms": %s, "latency_ms": %s, "reload_cpu_ms": %s, "stretches": [%s]}}\n' \
    "$churn_period_ms" "$churn_ms" "$churn_reload_ms" "$(IFS=,; echo "${churn_json[*]}")"
} > "$out/results.json"

# one chart: each figure as a share of the best contender
{
  for n in "${names[@]}"; do
    printf '%s' "$n"
    for f in bulk1 bulk4 p50 conns; do printf ' %s' "$(med "$n" "$f")"; done; echo
  done
} > "$work/chart.dat"
gnuplot <<EOF 2>/dev/null || echo "(gnuplot failed: no chart)" >&2
set terminal pngcairo size 1100,700 noenhanced font ",10"
set output "$out/bench.png"
set multiplot layout 2,2 title "finwait benchmark on loopback ($(nproc) cores, $(uname -r)); median of $reps"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -20 font ",9"
set grid ytics
set yrange [0:*]
set title "throughput, 1 stream (Gbit/s)"; plot "$work/chart.dat" using 2:xtic(1) notitle lc rgb "#4878a8"
set title "throughput, 4 streams (Gbit/s)"; plot "$work/chart.dat" using 3:xtic(1) notitle lc rgb "#4878a8"
set title "round trip p50, 64 B (us, lower is better)"; plot "$work/chart.dat" using 4:xtic(1) notitle lc rgb "#c05050"
set title "sequential connections (conn/s)"; plot "$work/chart.dat" using 5:xtic(1) notitle lc rgb "#50a050"
unset multiplot
EOF
echo "wrote $out/table.txt, $out/results.json, $out/bench.png" >&2
