#!/usr/bin/env bash
# Teardown verdicts on real applications (issue 16): each detector's bug reproduced by software
# from Debian (nginx, python3 -m http.server, socat, redis-server, redis-py, curl) and Node's
# http, run through `finwait run`, and its correct twin (the same software configured right).
# Each case prints what finwait reported (kind, count, one line of evidence) and fails if the
# bug's kind is missing or the twin's is present.
#
#   tests/verdicts/realapps.sh           (root: installs what is missing, runs in its own netns)
#   FW_REALAPPS_ONLY=REGEX               only the cases whose name matches (e.g. early_answer)
#   FW_REALAPPS_KEEP=DIR                 keep the work directory (reports, logs) as DIR
#
# Everything listens on 127.0.0.1 inside a network namespace of its own (unshare -n): nothing
# outside it is touched, and every server ends with the script.
# shellcheck disable=SC2317 # cleanup runs from the trap, the client helpers from bash -c
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${FW_REALAPPS_NS:-}" ]; then
  # nginx-light, socat, redis-server, python3-redis: the applications under test
  pkgs=(nginx-light socat redis-server python3-redis curl nodejs python3)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "realapps: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [ -x build/finwait ] || bash .ci/setup >/dev/null
  exec env FW_REALAPPS_NS=1 unshare -n bash "$0" "$@"
fi

ip link set lo up
FW=$PWD/build/finwait
PY=/usr/bin/python3 # Debian's, with python3-redis
work=$(mktemp -d /tmp/fw-realapps-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${FW_REALAPPS_KEEP:-}" ] && cp -r "$work" "$FW_REALAPPS_KEEP"; rm -rf "$work"
}
trap cleanup EXIT

# start a server in the background; it is ended at exit
serve() {
  "$@" >>"$work/servers.log" 2>&1 &
  pids+=($!)
}

# bounded wait until 127.0.0.1:PORT accepts
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "realapps: nothing listens on 127.0.0.1:$1" >&2
  exit 1
}

# a finwait config: one proxy LISTEN -> UPSTREAM with the verdicts block VERDICTS
config() {
  cat >"$work/$1.yaml" <<EOF
proxies:
  - name: $1
    listen: 127.0.0.1:$2
    upstream: 127.0.0.1:$3
    verdicts: {$4}
EOF
  echo "$work/$1.yaml"
}

status=0
# case NAME KIND want|none|known PORT UPSTREAM VERDICTS -- COMMAND...: COMMAND through finwait run,
# then what finwait reported, against what was wanted
case_() {
  local name=$1 kind=$2 want=$3 port=$4 up=$5 verdicts=$6 cfg rc=0
  shift 7
  [[ $name =~ ${FW_REALAPPS_ONLY:-.} ]] || return 0
  cfg=$(config "$name" "$port" "$up" "$verdicts")
  local t0=$SECONDS
  echo "== $name: $* (want $kind: $want)"
  "$FW" run -c "$cfg" --fail-on "$kind" --report "$work/$name" -- "$@" 2>"$work/$name.err" || rc=$?
  $PY - "$work/$name/findings.json" "$kind" "$want" "$rc" "$((SECONDS - t0))" <<'EOF' || status=1
import json, sys
path, kind, want, rc, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
found = json.load(open(path))
found = found["findings"] if isinstance(found, dict) else found
mine = [f for f in found if f["kind"] == kind and not f.get("expected")]
for f in found:
    ev = ", ".join("%s=%s" % (k, v) for k, v in f.get("evidence", {}).items())
    print("  finding %s side=%s count=%d%s: %s" % (f["kind"], f["side"], f["count"],
          " expected=" + f["expected"] if f.get("expected") else "", ev))
    print("    why: %s" % f.get("why", ""))
if not found:
    print("  no finding")
if want == "known":  # a known miss: reported, not failed, until the detector finds it
    print("  %s: %s %s (finwait run exit %d, %s s)" % ("FIXED? make this case want" if mine
          else "KNOWN MISS", kind, "found" if mine else "not found", rc, secs))
    sys.exit(0)
ok = (len(mine) > 0) == (want == "want") and (rc == 3) == (want == "want")
print("  %s: %s %s (finwait run exit %d, %s s)" % ("ok" if ok else "FAIL", kind,
      "found %d" % sum(f["count"] for f in mine) if mine else "not found", rc, secs))
sys.exit(0 if ok else 1)
EOF
}

# cope NAME FAULT OUTCOME PORT UPSTREAM -- COMMAND...: COMMAND through finwait run with the
# fault FAULT (a YAML flow mapping) on its proxy; how the client coped with it (retried,
# closed, hung) must include OUTCOME
cope() {
  local name=$1 fault=$2 want=$3 port=$4 up=$5 rc=0
  shift 6
  [[ $name =~ ${FW_REALAPPS_ONLY:-.} ]] || return 0
  cat >"$work/$name.yaml" <<EOF
proxies:
  - name: $name
    listen: 127.0.0.1:$port
    upstream: 127.0.0.1:$up
    verdicts: {hung_after: 1s}
    faults: [$fault]
EOF
  local t0=$SECONDS
  echo "== $name: $* (want the client to have $want)"
  "$FW" run -c "$work/$name.yaml" --report "$work/$name" -- "$@" 2>"$work/$name.err" || rc=$?
  $PY - "$work/$name/findings.json" "$want" "$rc" "$((SECONDS - t0))" <<'EOF' || status=1
import json, sys
path, want, rc, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
coping = json.load(open(path)).get("coping", [])
n = 0
for c in coping:
    print("  fault %s %s" % (c["fault"], c["why"]))
    n += c["outcomes"][want]["count"]
print("  %s: %s %d time(s) (finwait run exit %d, %s s)" % ("ok" if n else "FAIL", want, n, rc, secs))
sys.exit(0 if n else 1)
EOF
}

# --- the servers --------------------------------------------------------------------------
mkdir -p "$work/www" "$work/ngx"
cat >"$work/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events {}
http {
  access_log off;
  client_max_body_size 8m;
  client_body_temp_path $work/ngx/body;
  proxy_temp_path $work/ngx/proxy;
  fastcgi_temp_path $work/ngx/fastcgi;
  uwsgi_temp_path $work/ngx/uwsgi;
  scgi_temp_path $work/ngx/scgi;
  server { listen 127.0.0.1:8080; keepalive_timeout 1s;  location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:8090; keepalive_timeout 10s; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:8091; keepalive_timeout 0;   location / { return 200 "ok\n"; } }
}
EOF
serve nginx -p "$work" -c "$work/nginx.conf"
serve $PY -m http.server 8081 --bind 127.0.0.1 --directory "$work/www"
# socat as a line server that answers each line 1 s later; -t: how long it waits for the
# answer after the client's EOF
# shellcheck disable=SC2016 # the server's shell expands it
answer='while read -r l; do sleep 1; echo "$l"; done'
serve socat -t 0.5 TCP-LISTEN:8082,bind=127.0.0.1,reuseaddr,fork SYSTEM:"$answer"
serve socat -t 3 TCP-LISTEN:8092,bind=127.0.0.1,reuseaddr,fork SYSTEM:"$answer"
# an HTTP answer that takes 2 s
printf 'sleep 2; printf "HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nok\\n"\n' \
  >"$work/slow.sh"
serve socat -t 5 TCP-LISTEN:8083,bind=127.0.0.1,reuseaddr,fork SYSTEM:"sh $work/slow.sh"
serve redis-server --port 6379 --bind 127.0.0.1 --timeout 1 --save '' --appendonly no
serve redis-server --port 6389 --bind 127.0.0.1 --timeout 0 --save '' --appendonly no
for p in 8080 8090 8091 8081 8082 8092 8083 6379 6389; do wait_port "$p"; done

# --- the clients --------------------------------------------------------------------------
# Node http with a keep-alive agent, one socket: a request, then a pause around nginx's 1 s
cat >"$work/reuse.js" <<'EOF'
const http = require('http');
const [port, n] = [+process.argv[2], +process.argv[3]];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () => new Promise((done) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
    res.resume();
    res.on('end', () => done(null));
  });
  req.on('error', (e) => done(e.code || e.message));
});
(async () => {
  const errors = {};
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const e = await get();
    if (e) { failed++; errors[e] = (errors[e] || 0) + 1; }
    await new Promise((r) => setTimeout(r, 998 + (i % 8)));
  }
  console.log(`  node: ${failed} of ${n} requests failed ${JSON.stringify(errors)}`);
})();
EOF
# a client that asks, reads the answer, asks again and half-closes, then reads to EOF
cat >"$work/halfclose.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"one\n")
assert s.recv(100) == b"one\n"
s.sendall(b"two\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
print("  client: second answer %r" % got)
EOF
# redis-py: a pooled connection used, then left idle HOLD s, used again
cat >"$work/redis_idle.py" <<'EOF'
import sys, time, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
r.set("k", "v")
time.sleep(float(sys.argv[2]))
try:
    print("  redis-py: after the idle time: %r" % r.get("k"))
except redis.exceptions.ConnectionError as e:
    print("  redis-py: after the idle time: %s" % e)
EOF
# redis-py: N pooled connections checked out, used once, held idle HOLD s
cat >"$work/redis_many.py" <<'EOF'
import sys, time, redis
pool = redis.ConnectionPool(host="127.0.0.1", port=int(sys.argv[1]))
conns = [pool.get_connection("PING") for _ in range(int(sys.argv[2]))]
for c in conns:
    c.send_command("PING")
    c.read_response()
time.sleep(float(sys.argv[3]))
pool.disconnect()
EOF
head -c 4194304 /dev/zero >"$work/body"
post() { # N POSTs of 4 MiB with curl to port ${2:-18081}; prints the status codes
  local codes=""
  for _ in $(seq "$1"); do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$work/body" \
      "http://127.0.0.1:${2:-18081}/") "
  done
  echo "  curl: $codes"
}
get() { # N GETs with curl, one connection each; prints the status codes
  local codes=""
  for _ in $(seq "$2"); do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' "$1") "
  done
  # shellcheck disable=SC2086 # one code a word
  echo "  curl: $(printf "%s\n" $codes | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
}
timed() { # curl -m MAX against the 2 s answer
  curl -s -o /dev/null -m "$1" -w "  curl -m $1: %{http_code} after %{time_total} s\n" \
    http://127.0.0.1:18083/ || true
}
export -f post get timed
export work

# --- the cases ----------------------------------------------------------------------------
case_ reuse request_into_closed want 18080 8080 "" -- node "$work/reuse.js" 18080 20
case_ reuse_twin request_into_closed none 18090 8090 "" -- node "$work/reuse.js" 18090 10
case_ early_answer answer_lost want 18081 8081 "" -- bash -c 'post 10'
# twin: nginx answers the same POST without reading it too, but discards the body and
# lingers before closing (lingering_close): no RST
case_ early_answer_twin answer_lost none 18090 8090 "" -- bash -c 'post 10 18090'
case_ half_close half_close_ignored want 18082 8082 "" -- $PY "$work/halfclose.py" 18082
case_ half_close_twin half_close_ignored none 18092 8092 "" -- $PY "$work/halfclose.py" 18092
case_ redis_keeps peer_keeps_closed want 16379 6379 "peer_keeps_closed: 1s" \
  -- $PY "$work/redis_idle.py" 16379 4
case_ redis_keeps_twin peer_keeps_closed none 16389 6389 "peer_keeps_closed: 1s" \
  -- $PY "$work/redis_idle.py" 16389 4
case_ curl_timeout client_timeout_shorter want 18083 8083 "" -- bash -c 'timed 0.5'
case_ curl_timeout_twin client_timeout_shorter none 18083 8083 "" -- bash -c 'timed 5'
case_ redis_abandoned abandoned want 16389 6389 "abandoned: 1s, abandoned_count: 3" \
  -- $PY "$work/redis_many.py" 16389 3 2
case_ redis_abandoned_twin abandoned none 16389 6389 "abandoned: 1s, abandoned_count: 3" \
  -- $PY "$work/redis_many.py" 16389 2 2
case_ time_wait time_wait_pressure want 18091 8090 "time_wait_pressure: 50" \
  -- bash -c 'get http://127.0.0.1:18091/ 60'
case_ time_wait_twin time_wait_pressure none 18091 8091 "time_wait_pressure: 50" \
  -- bash -c 'get http://127.0.0.1:18091/ 60'

# how real clients cope with finwait's faults: curl --retry reconnects after an RST, plain
# curl gives up, curl -m 3 waits out a blackhole (hung past hung_after, then closed at 3 s)
cope coping_retry "{name: rst, type: reset, after_bytes: 1, to: client}" retried 18084 8090 \
  -- bash -c 'curl -s -o /dev/null --retry 2 --retry-all-errors --retry-delay 0 http://127.0.0.1:18084/ || echo "  curl: gave up after its retries ($?)"'
cope coping_closed "{name: rst, type: reset, after_bytes: 1, to: client}" closed 18085 8090 \
  -- bash -c 'curl -s -o /dev/null http://127.0.0.1:18085/ || echo "  curl: exit $?"'
cope coping_hung "{name: silence, type: blackhole}" closed 18086 8090 \
  -- bash -c 'curl -s -o /dev/null -m 3 http://127.0.0.1:18086/ || echo "  curl -m 3: exit $?"'

[ $status -eq 0 ] && echo "realapps: every case as expected" || echo "realapps: FAILED" >&2
exit $status
