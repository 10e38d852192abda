#!/usr/bin/env bash
# CI's longer fidelity stage: N generated cases (default 2000; the default suite runs 300) with
# 3 runs each way (racy cases 20), then python3 -m http.server + curl 100 times each way.
#
#   tests/fidelity/run.sh [N]        FW_ORACLE_SEED=S chooses the seed (default 1000; the
#                                    default suite's is 1); a failing case prints its replay line
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
seed=${FW_ORACLE_SEED:-1000}

bash .ci/setup >/dev/null
status=0
build/tests/fidelity/oracle --seed "$seed" --cases "$n" --reps 3 --racy-reps 20 \
  --known tests/fidelity/KNOWN || status=1
bash tests/fidelity/http_post.sh 100 build/finwait || status=1
exit $status
