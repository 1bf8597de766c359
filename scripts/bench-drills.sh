#!/usr/bin/env bash
# Reproduces the drill numbers in BENCHMARKS.md: the wall time of the whole
# suite (make drills' command), then every shipped drill RUNS times with
# brain-drill run --replay, next to the baseline drill (testdata/drills/
# baseline.md: every step `true`, so its TTD and TTR are brain-drill's own
# floor), measured in the same run. brain-drill prints p50 / p90 / max of TTD
# and TTR per drill; the limits are each drill's detect_within /
# recover_within.
# Usage: scripts/bench-drills.sh [RUNS]   (default 10)
set -euo pipefail
RUNS=${1:-10}
cd "$(dirname "$0")/.."
make -s build
D="$PWD/bin/brain-drill"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench-drills.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
"$PWD/bin/brain-run" demo "$DIR/warm" > /dev/null # the checks' compilation cache, warm from here on
s=$(date +%s%N)
"$D" run --dir "$DIR/suite" drills/ > "$DIR/suite.txt"
e=$(date +%s%N)
tail -1 "$DIR/suite.txt"
awk -v s="$s" -v e="$e" 'BEGIN { printf "suite: drills/ in %.1f s (one run of each drill, as make drills runs them)\n", (e - s) / 1e9 }' 
"$D" run --dir "$DIR/replay" --replay "$RUNS" --json "$DIR/journal.json" testdata/drills/baseline.md drills/
