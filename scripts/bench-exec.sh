#!/usr/bin/env bash
# Reproduces the brain-run exec overhead numbers in BENCHMARKS.md.
#
# 1. The time `brain-run exec -- true` adds to `true` run directly, set
#    against the floor the issue names: scripts/execfloor/durable, a minimal
#    Go program that makes a ~400-byte record durable (write + fdatasync),
#    forks the program and waits, and makes a second record durable. The
#    target: exec adds at most 1.5 times what the floor adds. Also timed:
#    the floor without its records (bare), the same linking everything
#    brain-run links (linked), and brain-run-full's exec (which links
#    everything). All interleaved round by round (scripts/interleave), so a
#    slow minute of a shared machine falls on every command alike; medians.
# 2. A dead OTLP endpoint, in each way a collector can be dead
#    (scripts/deadendpoints): a closed port, a listener that never accepts
#    (its queue full, so SYNs go unanswered) and one that accepts and never
#    answers. The target: each adds at most 100 ms in all, hand-off to
#    brain-run-full included; the median is set against it (the maximum of
#    a few dozen runs on a shared machine is some other program's).
#
# Usage: scripts/bench-exec.sh [ROUNDS]   (default 300; the dead endpoints
# get ROUNDS/10 rounds, at least 20)
set -euo pipefail
ROUNDS=${1:-300}
DEAD_ROUNDS=$((ROUNDS / 10 < 20 ? 20 : ROUNDS / 10))
cd "$(dirname "$0")/.."
make -s build
CGO_ENABLED=0 go build -trimpath -o bin/ ./scripts/interleave ./scripts/deadendpoints \
  ./scripts/execfloor/bare ./scripts/execfloor/linked ./scripts/execfloor/durable
BIN="$PWD/bin"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
cd "$DIR"
coproc DEAD { "$BIN/deadendpoints"; }
trap 'exec {DEAD[1]}>&-; wait; rm -rf "$DIR"' EXIT
declare -A dead
for _ in 1 2 3; do
  read -r kind addr <&"${DEAD[0]}"
  dead[$kind]=$addr
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/brain-run" exec --dir ws -- true # create the workspace and chain once
mkdir floor
out=$("$BIN/interleave" "$ROUNDS" true \
  "$BIN/brain-run exec --dir ws -- true" \
  "$BIN/durable floor true" \
  "$BIN/bare true" \
  "$BIN/linked true" \
  "$BIN/brain-run-full exec --dir ws -- true")
echo "median p25 p75 max (ms) of $ROUNDS interleaved runs:"
echo "$out"
echo "$out" | awk '
  NR == 1 { base = $1 }
  NR == 2 { exec = $1 - base }
  NR == 3 { floor = $1 - base }
  NR == 4 { bare = $1 - base }
  NR == 5 { linked = $1 - base }
  NR == 6 { full = $1 - base }
  END {
    printf "added to true: exec %.2f ms; floor (durable) %.2f ms; bare %.2f ms; linked %.2f ms; brain-run-full exec %.2f ms\n", exec, floor, bare, linked, full
    printf "exec / floor: %.2fx (target 1.5x): %s\n", exec / floor, (exec <= 1.5 * floor) ? "met" : "NOT met"
  }'

out=$("$BIN/interleave" "$DEAD_ROUNDS" true \
  "$BIN/brain-run exec --dir ws --otlp-endpoint ${dead[closed]} -- true" \
  "$BIN/brain-run exec --dir ws --otlp-endpoint ${dead[unaccepted]} -- true" \
  "$BIN/brain-run exec --dir ws --otlp-endpoint ${dead[silent]} -- true")
echo "dead endpoints: median p25 p75 max (ms) of $DEAD_ROUNDS interleaved runs:"
echo "$out"
echo "$out" | awk '
  NR == 1 { base = $1 }
  NR > 1 {
    split("closed unaccepted silent", kind, " ")
    printf "dead endpoint, %s: adds %.1f ms (median; p75 %.1f, max %.1f): %s\n", kind[NR - 1], $1 - base, $3 - base, $4 - base, ($1 - base <= 100) ? "met" : "NOT met"
  }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
