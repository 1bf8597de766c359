#!/usr/bin/env bash
# Bulk append against `dd` on an idle and on a busy disk: the wall time of
#   * brain-audit append --sync=batch of N events (~440-byte records) from
#     stdin into a fresh chain, for brain-audit built from REV (the
#     baseline) and from this tree;
#   * dd writing the same bytes as the resulting chain file (read from the
#     page cache) into a fresh file on the same file system, with one
#     fdatasync at the end (conv=fdatasync);
# interleaved round by round, each run after a `sync` so that none starts
# with another's dirty pages. Twice: with the disk as found, then with two
# background writers that this script starts on the same file system and
# kills on exit: a loop of dd writing 512 MiB files with O_DIRECT and a loop
# of dd writing them through the page cache with a final fdatasync.
# Ratios are of medians measured in the same phase.
# Usage: scripts/bench-append-disk.sh [REV] [ROUNDS] [N]   (defaults main, 5, 1000000)
set -euo pipefail
REV=${1:-main}
ROUNDS=${2:-5}
N=${3:-1000000}
cd "$(dirname "$0")/.."
# The chain and the writers live next to the tree: on the file system whose
# disk is measured (a TMPDIR on tmpfs would measure memory).
DIR=$(mktemp -d "$PWD/.bench-append-disk.XXXXXX")
BUSY=()
cleanup() {
  for p in "${BUSY[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${BUSY[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$DIR/src" "$DIR/old" "$DIR/new" "$DIR/out"
git archive "$REV" | tar -x -C "$DIR/src"
(cd "$DIR/src" && CGO_ENABLED=0 go build -trimpath -o "$DIR/old/" ./cmd/brain-audit)
CGO_ENABLED=0 go build -trimpath -o "$DIR/new/" ./cmd/brain-audit
OLD=$DIR/old/brain-audit NEW=$DIR/new/brain-audit
echo "old: $(git rev-parse --short "$REV"), new: this tree; $(nproc) CPUs; $(df -T . | awk 'NR == 2 { print $1 ", " $2 }')"

awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"input_tokens\":1234,\"output_tokens\":567,\"n\":%d}\n", i
}' > "$DIR/events.jsonl"
"$NEW" append --sync=batch "$DIR/ref.jsonl" < "$DIR/events.jsonl" > /dev/null
"$NEW" verify-log "$DIR/ref.jsonl" > /dev/null
echo "chain: $N records and a header, $(stat -c %s "$DIR/ref.jsonl") bytes"
cat "$DIR/events.jsonl" "$DIR/ref.jsonl" > /dev/null # warm the page cache

# The commands, NAME|COMMAND, in the order each round runs them; each
# writes a fresh file in $DIR/out.
CMDS=(
  "dd|dd if=$DIR/ref.jsonl of=$DIR/out/dd.out bs=1M conv=fdatasync status=none"
  "old append|$OLD append --sync=batch $DIR/out/old.jsonl < $DIR/events.jsonl"
  "new append|$NEW append --sync=batch $DIR/out/new.jsonl < $DIR/events.jsonl"
)

# phase NAME: ROUNDS interleaved rounds of every command; one line per run
# (phase, name, wall, user+sys) in $DIR/runs.
phase() {
  for _ in $(seq "$ROUNDS"); do
    for c in "${CMDS[@]}"; do
      name=${c%%|*}
      rm -f "$DIR"/out/*
      sync
      /usr/bin/time -q -f "%e %U %S" -o "$DIR/time" sh -c "${c#*|} > /dev/null"
      read -r e u s < "$DIR/time"
      echo "$1|$name|$e|$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')" >> "$DIR/runs"
    done
  done
}

phase "idle disk (load $(cut -d' ' -f1 /proc/loadavg))"
sh -c "while :; do dd if=/dev/zero of=$DIR/busy.direct bs=1M count=512 oflag=direct status=none; done" &
BUSY+=($!)
sh -c "while :; do dd if=/dev/zero of=$DIR/busy.cached bs=1M count=512 conv=fdatasync status=none; done" &
BUSY+=($!)
sleep 2 # let the writers fill the queue before the first run
phase "busy disk, two background writers (load $(cut -d' ' -f1 /proc/loadavg))"
for p in "${BUSY[@]}"; do kill "$p"; done
BUSY=()
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

awk -F'|' -v n="$N" "$(cat scripts/medians.awk)"'
{ R++; K[R] = $1 "|" $2; V[R, 3] = $3; V[R, 4] = $4; if (!($1 in seenp)) { seenp[$1] = 1; P[++np] = $1 }; if (!($2 in seenc)) { seenc[$2] = 1; C[++nc] = $2 } }
END {
  for (p = 1; p <= np; p++) {
    print "== " P[p] ": medians of " R / (np * nc) " runs"
    printf "%-12s %9s %15s %9s %10s %12s\n", "command", "wall s", "(q1-q3)", "CPU s", "vs dd", "records/s"
    dd = median(P[p] "|dd", 3)
    for (c = 1; c <= nc; c++) {
      w = median(P[p] "|" C[c], 3)
      rs = C[c] ~ /append/ ? sprintf("%.0f", n / w) : ""
      printf "%-12s %9.2f %7.2f-%-7.2f %9.2f %9.2fx %12s\n", C[c], w, quart(P[p] "|" C[c], 3, 0.25), quart(P[p] "|" C[c], 3, 0.75), median(P[p] "|" C[c], 4), w / dd, rs
    }
  }
}' "$DIR/runs"
