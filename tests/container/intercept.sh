#!/usr/bin/env bash
# Transparent interception in containers, as the examples run it (README "Transparent
# interception"):
#   compose: examples/compose-intercept (finwait in the application's namespace,
#            network_mode: service:app, NET_ADMIN): the application, dialling db:5432 as it
#            always did, sees the fault; once finwait stops, it reaches the database directly.
#   kube:    examples/kubernetes/sidecar-intercept.yaml with podman kube play: the application
#            dials server:8080 and gets finwait's latency and RST.
#   tproxy:  the image's finwait in mode: tproxy sets its policy route (the image has no `ip`).
#
#   tests/container/intercept.sh [compose] [kube] [tproxy]    as root (default: all)
#   FINWAIT_IMAGE=localhost/finwait:ci tests/container/intercept.sh   an image already built
#
# Needs what tests/container/run.sh installs and makes (podman, podman-compose, runc, the base
# image debian:12-slim): run that once first. Builds the image from the Containerfile.
# Everything it starts is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cache=${FINWAIT_CONTAINER_CACHE:-/var/cache/finwait-container}
image=${FINWAIT_IMAGE:-localhost/finwait:intercept-ct} # an image already built: not rebuilt
run=fwic$$
work=$(mktemp -d)
export CONTAINERS_CONF=$cache/containers.conf

say() { printf 'container-intercept: %s\n' "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  [ -f "$work/kube/sidecar-intercept.yaml" ] && podman kube down "$work/kube/sidecar-intercept.yaml" >/dev/null 2>&1
  [ -f "$work/kube/server.yaml" ] && podman kube down "$work/kube/server.yaml" >/dev/null 2>&1
  podman ps -aq --filter "label=finwait-ct=$run" | xargs -r podman rm -f -t 2 >/dev/null 2>&1
  [ -d "$work/examples/compose-intercept" ] &&
    (cd "$work/examples/compose-intercept" && podman-compose -p "$run" down -t 2) >/dev/null 2>&1
  podman network ls -q --filter "name=^$run" | xargs -r podman network rm -f >/dev/null 2>&1
  rm -rf "$work"
  if [ "$rc" = 0 ]; then say "all checks passed"; else say "failed (exit $rc)"; fi
}
trap cleanup EXIT

for t in podman podman-compose; do command -v "$t" >/dev/null || die "$t is missing: run tests/container/run.sh once"; done
[ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF is missing: run tests/container/run.sh once"
podman image exists docker.io/library/debian:12-slim || die "no debian:12-slim image: run tests/container/run.sh once"

# lines LOGCMD MIN: wait (60 s) for a client line "ok 4096 bytes in N ms" (or the kube app's
# "app: 4096 bytes in N ms") with N >= MIN (MIN < 0: N < -MIN); prints it.
wait_line() {
  local min=$1 deadline=$(($(date +%s) + 60)) line
  shift
  while [ "$(date +%s)" -lt "$deadline" ]; do
    line=$("$@" 2>&1 | awk -v min="$min" '
      { for (i = 1; i < NF; i++) if ($i == "in" && $(i + 2) == "ms") ms = $(i + 1) }
      /4096 bytes in/ && ((min >= 0 && ms >= min) || (min < 0 && ms < -min)) { l = $0 }
      END { print l }')
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.5
  done
  die "no line of 4096 bytes taking $([ "$min" -ge 0 ] && echo ">= $min" || echo "< $((-min))") ms in: $("$@" 2>&1 | tail -3)"
}

# compose_name SERVICE: the name podman-compose gave the container of SERVICE in this run.
compose_name() {
  podman ps -a --filter "label=io.podman.compose.project=$run" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1
}

check_compose() {
  local dir=$work/examples/compose-intercept app fw line n
  mkdir -p "$work/examples/compose"
  cp -r "$root/examples/compose/app" "$work/examples/compose/"
  cp -r "$root/examples/compose-intercept" "$work/examples/"
  # docker compose runs the file as it is. podman-compose 1.0.3 cannot join a service's
  # namespace (it passes `service:app` as a network name, and adds its own network to
  # `container:NAME`): it runs db and app, and finwait is started as the file says, with podman
  # itself: in app's namespace, NET_ADMIN, the configuration directory mounted
  (cd "$dir" && FINWAIT_IMAGE=$image podman-compose -p "$run" up -d db app >"$work/compose.log" 2>&1) ||
    die "compose: podman-compose up: $(tail -5 "$work/compose.log")"
  app=$(compose_name app)
  [ -n "$app" ] || die "compose: the app container not found: $(tail -5 "$work/compose.log")"
  grep -q 'network_mode: "service:app"' "$dir/compose.yaml" && grep -q 'cap_add: \[NET_ADMIN\]' "$dir/compose.yaml" ||
    die "compose: compose.yaml no longer runs finwait in app's namespace with NET_ADMIN"
  fw=${run}-finwait
  podman run -d --name "$fw" --label "finwait-ct=$run" --network "container:$app" --cap-add NET_ADMIN \
    -v "$dir/finwait:/etc/finwait:ro" "$image" >/dev/null
  line=$(wait_line 300 podman logs "$app")
  say "compose: the application, its configuration untouched, through finwait's 300 ms: $line"
  # not grep -q: under pipefail, grep quitting at its first match can kill podman logs with
  # SIGPIPE while it still writes, and the pipeline then fails although the line is there
  podman logs "$fw" 2>&1 | grep "original_destination=" >/dev/null ||
    die "compose: finwait's log has no intercepted connection: $(podman logs "$fw" 2>&1 | tail -3)"
  n=$(podman logs "$app" 2>&1 | wc -l)
  podman stop -t 5 "$fw" >/dev/null
  podman logs "$fw" 2>&1 | grep "error" >/dev/null && die "compose: finwait: $(podman logs "$fw" 2>&1 | grep error)"
  line=$(wait_line -250 sh -c "podman logs '$app' 2>&1 | tail -n +$((n + 2))")
  say "compose: finwait stopped, its rules gone: the database directly: $line"
}

check_kube() {
  local dir=$work/kube net=${run}-kube line f
  mkdir -p "$dir"
  for f in server sidecar-intercept; do
    sed "s|localhost/finwait:latest|$image|" "$root/examples/kubernetes/$f.yaml" >"$dir/$f.yaml"
    podman kube down "$dir/$f.yaml" >/dev/null 2>&1 || true
  done
  podman network create "$net" >/dev/null
  podman kube play --network "$net" "$dir/server.yaml" >/dev/null
  podman kube play --network "$net" "$dir/sidecar-intercept.yaml" >/dev/null
  line=$(wait_line 300 podman logs app-intercept-app)
  [[ $line == *reset* ]] || die "kube: expected the fault's RST in: $line"
  say "kube: the application dials server:8080, finwait's latency and RST reach it: $line"
}

# The gateway mode's policy route, which the image's finwait sets over rtnetlink (the image has
# no `ip`): there, in the container's namespace, once finwait says its rules are in.
check_tproxy() {
  local fw=${run}-tproxy pid deadline=$(($(date +%s) + 30)) rule route
  mkdir -p "$work/tproxy"
  printf 'proxies:\n  - {name: gw, listen: ":15432", intercept: {ports: [5432], mode: tproxy}}\n' \
    >"$work/tproxy/finwait.yaml"
  podman run -d --name "$fw" --label "finwait-ct=$run" --cap-add NET_ADMIN \
    -v "$work/tproxy:/etc/finwait:ro" "$image" >/dev/null
  until podman logs "$fw" 2>&1 | grep "interception rules: 1 proxy" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] && [ "$(podman inspect -f '{{.State.Running}}' "$fw")" = true ] ||
      die "tproxy: finwait did not install its rules: $(podman logs "$fw" 2>&1 | tail -3)"
    sleep 0.2
  done
  pid=$(podman inspect -f '{{.State.Pid}}' "$fw")
  rule=$(nsenter -t "$pid" -n ip -4 rule | grep 'fwmark 0x46574000 lookup 18007' || true)
  route=$(nsenter -t "$pid" -n ip -4 route show table 18007 || true)
  [ -n "$rule" ] && [[ $route == *"local default dev lo"* ]] ||
    die "tproxy: no policy route in the container's namespace: rule '$rule', route '$route'"
  podman stop -t 5 "$fw" >/dev/null
  say "tproxy: the image's finwait set its policy route without an ip tool: $rule; $route"
}

t0=$(date +%s)
if [ -n "${FINWAIT_IMAGE:-}" ]; then
  podman image exists "$image" || die "FINWAIT_IMAGE=$image: no such image"
else
  podman build -q -t "$image" -f Containerfile . >/dev/null || die "podman build"
  say "image built in $(($(date +%s) - t0)) s"
fi
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(compose kube tproxy)
for c in "${checks[@]}"; do
  t0=$(date +%s)
  "check_$c"
  say "$c: $(($(date +%s) - t0)) s"
done
