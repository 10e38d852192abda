#!/usr/bin/env bash
# Checks finwait's admin API with Toxiproxy's Node client, installed from the npm registry
# into out/compat (not part of the test suite: it needs the registry).
#
#   tests/compat/run.sh        (after bash .ci/setup)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD out=$PWD/out/compat
mkdir -p "$out"
command -v node >/dev/null || { echo "compat: needs node and npm" >&2; exit 1; }
[ -d "$out/node_modules/toxiproxy-node-client" ] ||
  npm install --prefix "$out" --no-audit --no-fund --silent toxiproxy-node-client@4.1.0
work=$(mktemp -d)
trap 'kill "$fw" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
echo "admin: {listen: '127.0.0.1:0'}" > "$work/finwait.yaml"
"$root/build/finwait" -c "$work/finwait.yaml" 2>"$work/log" & fw=$!
for _ in $(seq 200); do grep -q "admin API.*listening on" "$work/log" && break; sleep 0.02; done
port=$(grep -o "admin API.*listening on 127.0.0.1:[0-9]*" "$work/log" | grep -o "[0-9]*$")
NODE_PATH=$out/node_modules node "$root/tests/compat/toxiproxy_node_client.js" "http://127.0.0.1:$port"
