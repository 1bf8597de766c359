#!/usr/bin/env bash
# Reproduces the brain-trace-lint speed numbers in BENCHMARKS.md: lint
# 1,000,000 spans with the brain-trace-lint binary, wall time and maximum
# RSS (/usr/bin/time), RUNS runs each, on two corpora that the Go benchmark
# writes (internal/tracelint/bench_test.go):
#   * spans-1000000.jsonl: copies of a real recorded plan+execute session,
#     every attribute brain writes (about 570 MB), linting clean;
#   * spans-1000000-thin.jsonl: the same trees without attributes (about
#     250 MB, the size the issue names), where every span breaks a rule.
# Usage: scripts/bench-trace-lint.sh [RUNS]   (default 5)
set -euo pipefail
RUNS=${1:-5}
cd "$(dirname "$0")/.."
make -s build
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
# Writes both corpora into DIR, and runs each lint once in-process.
BENCH_DIR=$DIR go test -run '^$' -bench 'BenchmarkLint' -benchtime 1x ./internal/tracelint | grep '^Benchmark'

for corpus in spans-1000000.jsonl spans-1000000-thin.jsonl; do
  f=$DIR/$corpus
  cat "$f" > /dev/null # warm the page cache
  echo "$corpus: $(stat -c %s "$f") bytes, $(wc -l < "$f") lines"
  times=()
  rss=()
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$DIR/time" -f '%e %M' bin/brain-trace-lint "$f" > /dev/null 2>&1 || true
    out=$(tail -1 "$DIR/time")
    times+=("${out% *}")
    rss+=("${out#* }")
  done
  median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
  printf '  wall: min %s s, median %s s; max RSS: median %d MB (of %d runs)\n' \
    "$(printf '%s\n' "${times[@]}" | sort -n | head -1)" "$(median "${times[@]}")" "$(( $(median "${rss[@]}") / 1024 ))" "$RUNS"
done
