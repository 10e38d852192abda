#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang, ASan and UBSan, and run each
# for SECONDS (default 60): CI runs them briefly, a long hunt passes hours (3600 * N).
#
#   tests/fuzz/run.sh [SECONDS]
#
# Each target starts from tests/fuzz/corpus/<name without fuzz_>/ copied to a scratch
# directory (the repository's corpus only grows by hand), with tests/fuzz/<name without
# fuzz_>.dict if there is one. FUZZ_JOBS=N runs N workers per target; FUZZ_WORK=DIR keeps the
# scratch directory (default: a temp dir, kept only if something crashed).
# Exit status: 0 if every target ran clean, 1 if one crashed (the target and the crash file
# are named), 2 if the build failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
case $seconds in '' | *[!0-9]*)
  echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
  exit 2
  ;;
esac

# clang and its runtime libraries (libFuzzer's main is in libclang-rt-14-dev on Debian 12)
pkgs=(cmake clang libclang-rt-14-dev pkg-config libuv1-dev libyaml-dev libmicrohttpd-dev
      libjansson-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${BUILD_DIR:-build-fuzz}
if ! cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DFINWAIT_FUZZ=ON -DFINWAIT_TESTS=OFF >/dev/null ||
   ! cmake --build "$build" -j"$(nproc)" >/dev/null; then
  echo "fuzz: the build failed (cmake --build $build shows why)" >&2
  exit 2
fi

# UBSan's findings are only printed unless it halts: make each one a crash with its input
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

work=${FUZZ_WORK:-$(mktemp -d /tmp/finwait-fuzz.XXXXXX)}
mkdir -p "$work"
failed=0
shopt -s nullglob
for src in tests/fuzz/fuzz_*.c; do
  target=$(basename "$src" .c)
  name=${target#fuzz_}
  bin=$build/tests/fuzz/$target
  if [ ! -x "$bin" ]; then
    echo "fuzz: $target: no binary at $bin" >&2
    failed=1
    continue
  fi
  corpus=$work/corpus-$name
  artifacts=$work/crashes-$name/
  mkdir -p "$corpus" "$artifacts"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  fi
  args=(-max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts")
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    args+=(-fork="$FUZZ_JOBS" -ignore_crashes=0)
  fi
  echo "fuzz: $target for ${seconds}s (corpus $corpus)" >&2
  log=$work/$target.log
  # fuzz_admin starts proxies on whatever addresses its inputs name: each target runs in a
  # network namespace of its own, where only its own loopback exists
  if unshare -rn "$bin" "${args[@]}" "$corpus" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done [0-9]+ runs" "$log" >&2 || true
  else
    crash=$(ls -t "$artifacts" 2>/dev/null | head -1)
    echo "fuzz: $target FAILED: ${crash:+crash file $artifacts$crash, }log $log" >&2
    grep -E "ERROR: |runtime error: |invariant broken|SUMMARY: " "$log" | head -5 >&2 || true
    [ -n "$crash" ] && echo "fuzz: reproduce with: unshare -rn $bin $artifacts$crash" >&2
    failed=1
  fi
done
if [ "$failed" -eq 0 ] && [ -z "${FUZZ_WORK:-}" ]; then
  rm -rf "$work"
fi
exit "$failed"
