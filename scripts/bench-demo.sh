#!/usr/bin/env bash
# Reproduces the brain-run demo number in BENCHMARKS.md: the wall time of
# `brain-run demo` (the golden scenario: plan, execute of three tasks with
# nine checks, chain verification, summary) into a new directory each run,
# warm (the checks' compilation cache filled by one run first).
# Usage: scripts/bench-demo.sh [RUNS]   (default 20)
set -euo pipefail
RUNS=${1:-20}
cd "$(dirname "$0")/.."
make -s build
R="$PWD/bin/brain-run"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench-demo.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
export BRAIN_CACHE_DIR="$DIR/cache"

"$R" demo "$DIR/warm" > /dev/null # compile the checks once: the cache is warm from here on
for i in $(seq "$RUNS"); do
  s=$(date +%s%N); "$R" demo "$DIR/run$i" > /dev/null; e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
done | sort -n | awk -v runs="$RUNS" '{ a[NR] = $1 } END {
  printf "brain-run demo, warm: median %.0f ms, min %.0f ms, max %.0f ms (%d runs)\n", a[int((NR + 1) / 2)] / 1000, a[1] / 1000, a[NR] / 1000, runs }'
