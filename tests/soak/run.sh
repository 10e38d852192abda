#!/usr/bin/env bash
# finwait's soak: N connections (default 100,000) through a running finwait with every fault at
# random, SIGHUP reloads (good, good, broken) and admin API changes meanwhile; at the end
# finwait's descriptors, memory and sockets must be back to where they started. Not part of
# ctest. Exit status 0 when everything held, 1 with the reasons (and the seed) otherwise.
#
#   tests/soak/run.sh [--asan] [N] [soak options...]
#
#   --asan   build and run finwait under ASan+UBSan (build-asan/), as CI does
#   N        connections (default 100000)
#   options  passed to the driver: --seed S, --concurrency C (200), --reload-every MS (2000),
#            --deadline SECONDS (3600), --rss-slack-mib M (64), --without TYPE,...,
#            --no-list-changes, --no-forever, --no-odd-api
set -euo pipefail
cd "$(dirname "$0")/../.."

asan=0
asan_arg=
if [ "${1:-}" = --asan ]; then asan=1 asan_arg=--asan; shift; fi
n=100000
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then n=$1; shift; fi

if [ $asan = 1 ]; then
  build=build-asan
  [ -n "${FINWAIT_SOAK_NETNS:-}" ] ||
    BUILD_DIR=$build CMAKE_ARGS="-DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DFINWAIT_SANITIZE=ON" \
      bash .ci/setup >/dev/null
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # ASan's quarantine and shadow memory count in the RSS: the bound is about leaks, not them
  extra=(--rss-slack-mib 512)
else
  build=build
  [ -n "${FINWAIT_SOAK_NETNS:-}" ] || bash .ci/setup >/dev/null
  extra=()
fi
# The run goes into a network namespace of its own when root can make one: no other process
# on the machine can connect to the soak's ports, and `ss` sees the soak's sockets only.
# (Installing and building above needed the host's network.)
if [ -z "${FINWAIT_SOAK_NETNS:-}" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec env FINWAIT_SOAK_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' \
    "$0" ${asan_arg:+"$asan_arg"} "$n" "$@"
fi
# 200 connections at once cost finwait and the driver about 400 descriptors each
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/finwait-soak.XXXXXX)
echo "soak: finwait $build/finwait, work directory $work (kept on failure)" >&2
if "$build/tests/soak/soak" --finwait "$build/finwait" --dir "$work" -n "$n" \
     ${extra[@]+"${extra[@]}"} "$@"; then
  rm -rf "$work"
else
  status=$?
  echo "soak: failed; finwait's log and last configuration are in $work" >&2
  exit $status
fi
