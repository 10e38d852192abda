# shellcheck shell=bash disable=SC2154,SC2034 # variables shared with run.sh
# Sourced by run.sh: the two contenders of live faults (faults attached to and detached from
# open connections), with the helpers that drive them. Uses run.sh's peer, fw, work, names,
# ports, procs, pids, free_pair, wait_port, start_finwait and cpu_of.
#
#   finwait+came-went  the measured connections are opened and used, a latency toxic is
#                      added to them through the admin API (checked: a round trip is
#                      delayed, a bulk stream leaves splice), removed again (checked: no
#                      delay, the stream is back on splice), and only then measured.
#   finwait+churn      while the flow is measured, a latency fault for the clients of
#                      127.0.0.2 is attached and detached every 100 ms on both proxies by
#                      SIGHUP reloads (the admin API has no `match`), and 12 connections from
#                      127.0.0.2 carry a trickle of traffic through them (checked: many more
#                      of their round trips are slow than those of 4 control connections from
#                      127.0.0.3).

went_ms=50  # the latency that comes and goes: far above any unfaulted round trip here
churn_ms=20 # the churned latency (what the other connections' round trips show)
churn_period_ms=100

# --- finwait+came-went ---

start_finwait finwait+came-went "[]" "admin: {listen: 127.0.0.1:$(free_pair)}"
went_pid=${procs[-1]}
went_admin=$(sed -n 's/^admin: {listen: \(.*\)}$/\1/p' "$work/finwait+came-went.yaml")
wait_port "${went_admin##*:}"
# the pipes finwait holds with nothing spliced (libuv's, libmicrohttpd's): each spliced
# direction adds one pipe, two descriptors
pipes() { find "/proc/$went_pid/fd" -lname 'pipe:*' | wc -l; }
went_pipes0=$(pipes)
spliced() { echo $(( ( $(pipes) - went_pipes0 ) / 2 )); }
# Wait (at most 3 s) until finwait splices $1 directions; $2 says when, for the error.
wait_spliced() {
  local s
  for _ in $(seq 150); do s=$(spliced); [ "$s" = "$1" ] && return; sleep 0.02; done
  echo "bench: came-went: $2: finwait splices $s directions, expected $1" >&2; exit 1
}

api() { # method, path, [body]; prints the status code, the body goes to $work/api.out
  curl -sS -o "$work/api.out" -w '%{http_code}' -X "$1" "http://$went_admin$2" ${3:+-d "$3"}
}
fault_came() { # proxy, stream
  local code; code=$(api POST "/proxies/$1/toxics" \
    "{\"name\": \"came-went\", \"type\": \"latency\", \"stream\": \"$2\", \"attributes\": {\"latency\": $went_ms}}")
  [ "$code" = 200 ] || { echo "bench: adding a toxic to $1: $code $(cat "$work/api.out")" >&2; exit 1; }
}
fault_went() { # proxy
  local code; code=$(api DELETE "/proxies/$1/toxics/came-went")
  [ "$code" = 204 ] || { echo "bench: removing the toxic of $1: $code $(cat "$work/api.out")" >&2; exit 1; }
}

# One line from the held peer, within 60 s.
held_line() {
  local line
  read -r -t 60 line <&"${HELD[0]}" || { echo "bench: came-went: the peer did not answer" >&2; exit 1; }
  echo "$line"
}
# A round trip's milliseconds ("probe MS") compared with the latency: $1 is "slow" or "fast".
check_probe() {
  awk -v ms="${2#probe }" -v l="$went_ms" -v want="$1" 'BEGIN{ exit !((want == "slow") == (ms >= l)) }' ||
    { echo "bench: came-went: a round trip took ${2#probe } ms with the ${went_ms} ms latency $3" >&2; exit 1; }
}

# bench_peer MODE ... on connections held open while the fault comes and goes; prints the
# figure, then (bulk) finwait's CPU seconds during the measurement proper.
held() { # mode, host, port, args...
  local mode=$1 proxy=echo stream=downstream n=0 c0 r held_pid
  [ "$mode" = bulk ] && { proxy=bulk stream=upstream n=$5; }
  coproc HELD { "$peer" "$@" hold; }
  # shellcheck disable=SC2153 # coproc HELD sets it
  held_pid=$HELD_PID # bash unsets HELD_PID once the peer has exited
  [ "$(held_line)" = ready ] || exit 1
  [ "$mode" = bulk ] && wait_spliced "$n" "before the fault"
  fault_came "$proxy" "$stream"
  echo probe >&"${HELD[1]}"; r=$(held_line)
  if [ "$mode" = bulk ]; then wait_spliced 0 "while the fault was attached"; else check_probe slow "$r" "attached"; fi
  fault_went "$proxy"
  echo probe >&"${HELD[1]}"; r=$(held_line)
  if [ "$mode" = bulk ]; then wait_spliced "$n" "after the fault went"; else check_probe fast "$r" "removed"; fi
  c0=$(cpu_of "$went_pid")
  echo go >&"${HELD[1]}"; r=$(held_line)
  [ "$mode" = bulk ] && r="$r $(awk -v a="$c0" -v b="$(cpu_of "$went_pid")" 'BEGIN{print b-a}')"
  wait "$held_pid" 2>/dev/null || true # it printed its figure: it is done
  echo "$r"
}

went_measure() { # bench_peer's arguments
  case $1 in
    bulk|rr) held "$@" ;;
    # new connections have nothing to hold: the fault comes and goes on the proxy first
    *) fault_came echo downstream; fault_went echo; "$peer" "$@" ;;
  esac
}

# --- finwait+churn ---

start_finwait finwait+churn "[]" "" --no-watch
churn_pid=${procs[-1]}
churn_port=${ports[-1]}
churn_yaml_off=$(fw_yaml "$churn_port" "[]")
churn_yaml_on=$(fw_yaml "$churn_port" \
  "[{type: latency, name: churn, direction: both, latency: ${churn_ms}ms, match: {client: 127.0.0.2/32}}]")
mkfifo "$work/churn.sleep"

# The churn driver: a subshell of builtins only (printf, kill, read -t as its sleep) so that
# it costs next to no CPU; it switches the fault on or off every period until
# $work/churn.run goes away, then writes how many reloads it sent.
churn_loop() {
  local on=0 k=0 next now d sleepfd
  exec {sleepfd}<>"$work/churn.sleep" # never written: read -t on it is a sleep without a fork
  next=${EPOCHREALTIME/./}
  while [ -e "$work/churn.run" ]; do
    on=$(( 1 - on )) k=$(( k + 1 ))
    if [ $on = 1 ]; then printf '%s\n' "$churn_yaml_on"; else printf '%s\n' "$churn_yaml_off"; fi \
      > "$work/finwait+churn.yaml"
    kill -HUP "$churn_pid"
    next=$(( next + churn_period_ms * 1000 )) now=${EPOCHREALTIME/./} d=$(( next - now ))
    if [ $d -gt 0 ]; then
      printf -v d '%d.%06d' $(( d / 1000000 )) $(( d % 1000000 ))
      read -r -t "$d" -u "$sleepfd" _ || true
    else next=$now; fi # late on a loaded machine: no burst to catch up
  done
  printf '%s\n' "$churn_yaml_off" > "$work/finwait+churn.yaml"; kill -HUP "$churn_pid"
  echo "$k" > "$work/churn.count"
}

# The other connections, each kind a bench_peer trickle fed by a descriptor: closing it ends
# the peer, which then writes its counts. faulted: from 127.0.0.2 through the echo proxy (the
# fault's target, round trips timed); sink: from 127.0.0.2 through the bulk proxy; control:
# from 127.0.0.3 through the echo proxy, not matched, to tell the fault's delay from the
# machine's load.
declare -A trickle_fd trickle_pid
trickle_start() { # kind, port, connections, source, echo|sink
  local fd
  exec {fd}> >("$peer" trickle 127.0.0.1 "$2" "$3" "$4" 50 "$5" "$churn_ms" > "$work/trickle.$1")
  trickle_fd[$1]=$fd trickle_pid[$1]=$!
  pids+=($!) # ended by run.sh's cleanup if the run stops half-way
}

churn_start() { # the churn and the other connections, before the churn contender's figures
  trickle_start faulted $((churn_port + 1)) 8 127.0.0.2 echo
  trickle_start sink "$churn_port" 4 127.0.0.2 sink
  trickle_start control $((churn_port + 1)) 4 127.0.0.3 echo
  for _ in $(seq 250); do
    [ "$(cat "$work"/trickle.* 2>/dev/null | grep -c ready)" = 3 ] && break; sleep 0.02
  done
  [ "$(cat "$work"/trickle.* | grep -c ready)" = 3 ] ||
    { echo "bench: churn: the other connections did not open" >&2; exit 1; }
  touch "$work/churn.run"
  churn_loop & churn_loop_pid=$!; pids+=($!)
  churn_t0=${EPOCHREALTIME/./}
}

churn_stop() {
  local cpu tcpu=0 secs k fd
  cpu=$(cpu_of "$churn_loop_pid")
  for k in "${!trickle_pid[@]}"; do tcpu=$(awk -v a="$tcpu" -v b="$(cpu_of "${trickle_pid[$k]}")" 'BEGIN{print a+b}'); done
  rm -f "$work/churn.run"; wait "$churn_loop_pid"
  secs=$(( ${EPOCHREALTIME/./} - churn_t0 ))
  for k in "${!trickle_fd[@]}"; do fd=${trickle_fd[$k]}; exec {fd}>&-; done
  wait "${trickle_pid[@]}" 2>/dev/null || true
  read -r rts slow slowest _ < <(tail -n1 "$work/trickle.faulted")
  read -r crts cslow _ < <(tail -n1 "$work/trickle.control")
  read -r _ _ _ sink_bytes < <(tail -n1 "$work/trickle.sink")
  rm -f "$work"/trickle.*
  # Without the fault reaching the other connections the contender would measure nothing: it
  # is on half the time and delays both ways, so many round trips begun then are slow; the
  # load of the measurement makes some slow without it, as the control connections show.
  awk -v s="$slow" -v r="$rts" -v cs="$cslow" -v cr="$crts" 'BEGIN{ exit !(r > 0 && cr > 0 && s/r >= cs/cr + 0.10) }' || {
    echo "bench: churn: $slow of $rts round trips of the faulted connections took ${churn_ms} ms or more, $cslow of $crts of the control ones: the fault did not reach them" >&2; exit 1; }
  churn_json+=("$(awk -v k="$(cat "$work/churn.count")" -v us="$secs" -v c="$cpu" -v t="$tcpu" -v r="$rts" -v sl="$slow" \
    -v cr="$crts" -v cs="$cslow" \
    'BEGIN{printf "{\"reloads\": %d, \"seconds\": %.2f, \"driver_cpu_ms_per_s\": %.1f, \"peers_cpu_ms_per_s\": %.1f, \"faulted_round_trips\": %d, \"faulted_slow\": %d, \"control_round_trips\": %d, \"control_slow\": %d}", k, us/1e6, c*1e3/(us/1e6), t*1e3/(us/1e6), r, sl, cr, cs}')")
  churn_notes+=("$(awk -v k="$(cat "$work/churn.count")" -v us="$secs" -v c="$cpu" -v t="$tcpu" -v r="$rts" -v sl="$slow" -v s="$slowest" \
    -v cr="$crts" -v cs="$cslow" -v b="$sink_bytes" \
    'BEGIN{printf "%d reloads in %.1f s (one per %.0f ms), driver %.1f ms CPU/s; faulted connections: %d of %d round trips slowed (%.0f%%, slowest %.1f ms), control %d of %d (%.0f%%); %d B to the sink; peers %.1f ms CPU/s", k, us/1e6, us/1e3/k, c*1e3/(us/1e6), sl, r, 100*sl/r, s, cs, cr, 100*cs/cr, b, t*1e3/(us/1e6)}')")
}
churn_notes=() churn_json=()

# What a reload costs finwait, measured once before the run with nothing flowing through it:
# 2 s of the churn alone. CPU time in nanoseconds from schedstat, summed over its threads
# (/proc/PID/stat counts 10 ms ticks: too coarse for 20 reloads).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{t += $1} END{print t}'; }
c0=$(cpu_ns "$churn_pid")
touch "$work/churn.run"; churn_loop & churn_loop_pid=$!
sleep 2
rm -f "$work/churn.run"; wait "$churn_loop_pid"
churn_reload_ms=$(awk -v a="$c0" -v b="$(cpu_ns "$churn_pid")" -v k="$(cat "$work/churn.count")" 'BEGIN{printf "%.2f", (b-a)/1e6/(k+1)}')
