#!/usr/bin/env bash
# Reproduces the brain-run exec overhead numbers in BENCHMARKS.md: the wall
# time of `brain-run exec -- true` against `true` run directly, with spans to
# disk only and with a dead OTLP endpoint (a closed port).
# Usage: scripts/bench-exec.sh [RUNS]   (default 200)
set -euo pipefail
RUNS=${1:-200}
cd "$(dirname "$0")/.."
make -s build
R="$PWD/bin/brain-run"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

# per-run milliseconds of "$@", RUNS times; prints the median.
median_ms() {
  local i s e
  for i in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N)
    echo $(( (e - s) / 1000 ))
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}

"$R" exec --dir ws -- true # create the workspace and chain once
base=$(median_ms true)
disk=$(median_ms "$R" exec --dir ws -- true)
dead=$(median_ms "$R" exec --dir ws --otlp-endpoint 127.0.0.1:9 -- true)
echo "true directly:                          ${base} ms (median of $RUNS)"
echo "brain-run exec -- true (disk only):     ${disk} ms"
echo "brain-run exec -- true (dead endpoint): ${dead} ms"
awk -v b="$base" -v d="$disk" -v x="$dead" 'BEGIN { printf "added: %.2f ms (disk only), %.2f ms (dead endpoint)\n", d - b, x - b }'
echo "audit records per exec: 4 (command.start, exec.start, exec.end, command.end), each one fdatasync"
