#!/usr/bin/env bash
# The cold build: `make build` from an empty build cache (the module cache is
# filled first, so the network is not timed), wall time against the 4-minute
# target, and where the time went (scripts/buildtime reads the action graph
# that `go build -debug-actiongraph` writes: the longest actions, the time
# per module and the critical path). Run twice: on the machine as found, then
# with LOOPS busy loops (`sh -c 'while :; do :; done'`, killed after), each
# taking a core, as on a busy laptop.
# Usage: scripts/bench-build.sh [LOOPS]   (default 2)
set -euo pipefail
LOOPS_N=${1:-2}
cd "$(dirname "$0")/.."
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-build.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
go mod download
go build -o "$DIR/buildtime" ./scripts/buildtime
TARGET=240

cold() { # cold LABEL
  rm -rf "$DIR/cache" "$DIR/bin"
  mkdir -p "$DIR/cache"
  echo "== $1: load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
  local start end
  start=$(date +%s.%N)
  GOCACHE=$DIR/cache GOFLAGS=-debug-actiongraph=$DIR/graph.json make -s build BIN="$DIR/bin" > "$DIR/build.log" 2>&1 ||
    { cat "$DIR/build.log"; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v t="$TARGET" 'BEGIN {
    printf "make build, cold: %.0f s (target %d s: %s)\n", e - s, t, (e - s <= t) ? "met" : "NOT met" }'
  "$DIR/buildtime" -top 8 "$DIR/graph.json"
}

cold "as found"
for _ in $(seq "$LOOPS_N"); do
  sh -c 'while :; do :; done' &
  PIDS+=($!)
done
cold "with $LOOPS_N busy loops"
