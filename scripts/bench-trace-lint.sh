#!/usr/bin/env bash
# Reproduces the brain-trace-lint numbers in BENCHMARKS.md: lint corpora of
# 100,000, 1,000,000 and 5,000,000 spans with the brain-trace-lint binary,
# wall time, CPU time and maximum RSS (/usr/bin/time), RUNS runs each, and
# the same with the binary of BASE (a git revision: the linter before
# bounded memory) on the 1,000,000-span corpus; then `tree` (the list of
# the corpus's traces) and `report` (the page of every trace) the same
# way. The corpora are written by
# the Go benchmark (internal/tracelint/bench_test.go):
#   * spans-N.jsonl: copies of a real recorded plan+execute session, every
#     attribute brain writes (about 580 bytes a span), linting clean;
#   * spans-N-thin.jsonl: the same trees without attributes (about 250
#     bytes a span), where every span breaks a rule.
# The full corpora take about 3.5 GB in all; when TMPDIR has less than
# 5 GB free, only the thin ones are written (and the script says so).
# Usage: scripts/bench-trace-lint.sh [RUNS]   (default 3)
#   SIZES="100000 1000000 5000000"  the corpora's sizes, the first the baseline
#   BASE=<rev>                     the revision to compare with (default: main)
#   BENCH_DIR=DIR                  keep the corpora in DIR between runs
#   CMDS="lint tree report"        the commands timed
set -euo pipefail
RUNS=${1:-3}
SIZES=${SIZES:-100000 1000000 5000000}
BASE=${BASE:-main}
cd "$(dirname "$0")/.."
make -s build
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
CORPORA=${BENCH_DIR:-$DIR}
mkdir -p "$CORPORA"

# The baseline binary, built from BASE.
mkdir "$DIR/base"
git archive "$BASE" | tar -x -C "$DIR/base"
(cd "$DIR/base" && go build -o "$DIR/base-lint" ./cmd/brain-trace-lint)

free_kb=$(df -Pk "$CORPORA" | awk 'NR==2 {print $4}')
kinds="full thin"
if [ "$free_kb" -lt $((5 * 1024 * 1024)) ]; then
  echo "only $((free_kb / 1024)) MB free in $CORPORA: thin corpora only"
  kinds="thin"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"

# run BIN ARG...: prints the median wall time (s), CPU time (s) and max RSS
# (KB) of RUNS runs.
run() {
  local times=() cpus=() rss=()
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$DIR/time" -f '%e %U %S %M' "$@" > /dev/null 2>&1 || true
    read -r e u s m < <(tail -1 "$DIR/time")
    times+=("$e")
    cpus+=("$(echo "$u + $s" | bc)")
    rss+=("$m")
  done
  median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
  echo "$(median "${times[@]}") $(median "${cpus[@]}") $(median "${rss[@]}")"
}

for cmd in ${CMDS:-lint tree report}; do
  for kind in $kinds; do
    bench=BenchmarkLint
    suffix=""
    if [ "$kind" = thin ]; then bench=BenchmarkLintThin; suffix=-thin; fi
    sub=()
    if [ "$cmd" = tree ]; then sub=(tree); fi
    if [ "$cmd" = report ]; then sub=(report -o "$DIR/page.html"); fi
    first_rss=""
    printf '%-28s %10s %10s %10s %8s\n' "$cmd: corpus ($kind)" "wall s" "cpu s" "RSS MB" "RSS/first"
    for n in $SIZES; do
      f=$CORPORA/spans-$n$suffix.jsonl
      if [ ! -e "$f" ]; then
        BENCH_DIR=$CORPORA BENCH_SPANS=$n go test -run '^$' -bench "^$bench\$" -benchtime 1x ./internal/tracelint > /dev/null
      fi
      cat "$f" > /dev/null # warm the page cache
      read -r wall cpu rss < <(run bin/brain-trace-lint "${sub[@]}" "$f")
      first_rss=${first_rss:-$rss}
      printf '%-28s %10s %10s %10d %8.2f\n' "spans-$n$suffix ($(( $(stat -c %s "$f") / 1000000 )) MB)" "$wall" "$cpu" "$((rss / 1024))" "$(echo "$rss / $first_rss" | bc -l)"
      if [ "$n" = 1000000 ]; then
        read -r bwall bcpu brss < <(run "$DIR/base-lint" "${sub[@]}" "$f")
        printf '%-28s %10s %10s %10d   wall %.2fx, cpu %.2fx of %s\n' "  $BASE binary" "$bwall" "$bcpu" "$((brss / 1024))" \
          "$(echo "$wall / $bwall" | bc -l)" "$(echo "$cpu / $bcpu" | bc -l)" "$BASE"
      fi
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
