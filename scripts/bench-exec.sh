#!/usr/bin/env bash
# Reproduces the brain-run exec overhead numbers in BENCHMARKS.md: the wall
# time of `brain-run exec -- true` against `true` run directly (interleaved
# runs, medians), with spans to disk only, the same in brain-run-full (which
# links everything), and with a dead OTLP endpoint (a closed port; brain-run
# hands that to brain-run-full), set against the issue's budget of 5 ms plus
# one fdatasync per audit record (exec writes four), with the fdatasync
# measured on the same disk. It also times the floor (scripts/execfloor): a
# Go program that only forks and waits for `true` as exec does, bare and
# linking everything brain-run links without using it.
# Usage: scripts/bench-exec.sh [ROUNDS]   (default 300)
set -euo pipefail
ROUNDS=${1:-300}
cd "$(dirname "$0")/.."
make -s build
go build -o bin/interleave ./scripts/interleave
CGO_ENABLED=0 go build -trimpath -o bin/ ./scripts/execfloor/bare ./scripts/execfloor/linked
BIN="$PWD/bin"
sync_us=$(go test -run '^$' -bench BareWriteSync -benchtime 300x ./chain | awk '/^BenchmarkBareWriteSync/ { printf "%.0f", $3 / 1000 }')
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

"$BIN/brain-run" exec --dir ws -- true # create the workspace and chain once
out=$("$BIN/interleave" "$ROUNDS" true \
  "$BIN/brain-run exec --dir ws -- true" \
  "$BIN/brain-run-full exec --dir ws -- true" \
  "$BIN/brain-run exec --dir ws --otlp-endpoint 127.0.0.1:9 -- true" \
  "$BIN/bare true" \
  "$BIN/linked true")
echo "median p25 p75 (ms) of $ROUNDS interleaved runs:"
echo "$out"
echo "bare write+fdatasync on this disk: ${sync_us} µs"
echo "$out" | awk -v s="$sync_us" '
  NR == 1 { base = $1 }
  NR == 2 { disk = $1 }
  NR == 3 { full = $1 }
  NR == 4 { dead = $1 }
  NR == 5 { bare = $1 }
  NR == 6 { linked = $1 }
  END {
    budget = 5 + 4 * s / 1000
    printf "added: %.2f ms (brain-run, disk only), %.2f ms (brain-run-full, disk only), %.2f ms (dead endpoint)\n", disk - base, full - base, dead - base
    printf "floor: %.2f ms (a Go program forking true), %.2f ms (the same linking what brain-run links)\n", bare - base, linked - base
    printf "budget: 5 ms + 4 audit records x %.2f ms = %.2f ms: %s\n", s / 1000, budget, (disk - base < budget) ? "met" : "NOT met"
  }'
echo "exec's fdatasyncs: 2 for its 4 audit records (command.start+exec.start, exec.end+command.end), 1 for the spans file"
