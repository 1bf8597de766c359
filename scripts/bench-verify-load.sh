#!/usr/bin/env bash
# verify-log against `openssl dgst -sha256` on a busy machine: CPU (user+sys),
# wall time and peak memory (max RSS, mapped pages included) of
#   * verify-log --workers 1 and --workers 2 of a 1,000,000-record chain
#     (records of ~440 bytes) and openssl dgst -sha256 of the same file;
#   * verify-log of the same records in a chain of 3,000+ rotated files
#     (rotated every 330 records), against the one file;
# for brain-audit built from REV (the baseline) and from this tree, all
# interleaved round by round, so a slow minute falls on every command alike;
# twice: on the machine as found, then with two busy loops running
# (`sh -c 'while :; do :; done'`, killed after), which take the second core.
# Ratios are of medians measured in the same run.
# Usage: scripts/bench-verify-load.sh [REV] [ROUNDS]   (defaults main and 7)
set -euo pipefail
REV=${1:-main}
ROUNDS=${2:-7}
cd "$(dirname "$0")/.."
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-verify-load.XXXXXX")
LOOPS=()
cleanup() {
  for p in "${LOOPS[@]}"; do kill "$p" 2> /dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$DIR/src" "$DIR/old" "$DIR/new" "$DIR/rot" "$DIR/parts"
git archive "$REV" | tar -x -C "$DIR/src"
(cd "$DIR/src" && CGO_ENABLED=0 go build -trimpath -o "$DIR/old/" ./cmd/brain-audit)
CGO_ENABLED=0 go build -trimpath -o "$DIR/new/" ./cmd/brain-audit
OLD=$DIR/old/brain-audit NEW=$DIR/new/brain-audit
echo "old: $(git rev-parse --short "$REV"), new: this tree; $(nproc) CPUs"

awk 'BEGIN {
  for (i = 0; i < 1000000; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"input_tokens\":1234,\"output_tokens\":567,\"n\":%d}\n", i
}' > "$DIR/events.jsonl"
"$NEW" append --sync=batch "$DIR/chain.jsonl" < "$DIR/events.jsonl" > /dev/null
# The rotated chain: one append per 330 events, each into a new file.
split -l 330 -a 5 "$DIR/events.jsonl" "$DIR/parts/p"
for f in "$DIR"/parts/p*; do
  "$NEW" append --sync=batch --rotate-size 1 "$DIR/rot/audit.jsonl" < "$f" > /dev/null
done
rm -rf "$DIR/parts"
for b in "$OLD" "$NEW"; do
  "$b" verify-log "$DIR/chain.jsonl" > /dev/null 2>&1 && "$b" verify-log "$DIR/rot/audit.jsonl" > /dev/null 2>&1
done
echo "one file: $(stat -c %s "$DIR/chain.jsonl") bytes, 1,000,001 records; rotated: $(ls "$DIR/rot" | grep -c '\.jsonl$') files, $(cat "$DIR"/rot/*.jsonl | wc -c) bytes, 1,000,000 records and a header per file"
cat "$DIR/chain.jsonl" "$DIR"/rot/*.jsonl > /dev/null # warm the page cache

# The commands, NAME|COMMAND, in the order each round runs them.
CMDS=(
  "openssl|openssl dgst -sha256 $DIR/chain.jsonl"
  "old w1|$OLD verify-log --workers 1 $DIR/chain.jsonl"
  "new w1|$NEW verify-log --workers 1 $DIR/chain.jsonl"
  "old w2|$OLD verify-log --workers 2 $DIR/chain.jsonl"
  "new w2|$NEW verify-log --workers 2 $DIR/chain.jsonl"
  "old rotated w1|$OLD verify-log --workers 1 $DIR/rot/audit.jsonl"
  "new rotated w1|$NEW verify-log --workers 1 $DIR/rot/audit.jsonl"
  "old rotated w2|$OLD verify-log --workers 2 $DIR/rot/audit.jsonl"
  "new rotated w2|$NEW verify-log --workers 2 $DIR/rot/audit.jsonl"
)

# phase NAME: ROUNDS interleaved rounds of every command; one line per run
# (phase, name, user+sys, wall, max RSS KiB) in $DIR/runs.
phase() {
  for _ in $(seq "$ROUNDS"); do
    for c in "${CMDS[@]}"; do
      name=${c%%|*}
      /usr/bin/time -q -f "%U %S %e %M" -o "$DIR/time" ${c#*|} > /dev/null 2>&1
      read -r u s e m < "$DIR/time"
      echo "$1|$name|$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')|$e|$m" >> "$DIR/runs"
    done
  done
}

phase "as found (load $(cut -d' ' -f1 /proc/loadavg))"
for _ in 1 2; do
  sh -c 'while :; do :; done' &
  LOOPS+=($!)
done
phase "with two busy loops (load $(cut -d' ' -f1 /proc/loadavg))"
for p in "${LOOPS[@]}"; do kill "$p"; done
LOOPS=()

# Medians, and each command's CPU against openssl's and the rotated chain's
# against the one file's with the same binary and workers.
awk -F'|' "$(cat scripts/medians.awk)"'
{ R++; K[R] = $1 "|" $2; V[R, 3] = $3; V[R, 4] = $4; V[R, 5] = $5; if (!($1 in seenp)) { seenp[$1] = 1; P[++np] = $1 }; if (!($2 in seenc)) { seenc[$2] = 1; C[++nc] = $2 } }
END {
  for (p = 1; p <= np; p++) {
    print "== " P[p] ": medians of " R / (np * nc) " runs"
    printf "%-16s %9s %9s %12s %10s %14s\n", "command", "CPU s", "wall s", "max RSS MiB", "CPU/openssl", "rotated/one"
    ossl = median(P[p] "|openssl", 3)
    for (c = 1; c <= nc; c++) {
      cpu = median(P[p] "|" C[c], 3)
      rot = ""
      if (C[c] ~ /rotated/) { one = C[c]; sub(/rotated /, "", one); rot = sprintf("%.2fx", cpu / median(P[p] "|" one, 3)) }
      printf "%-16s %9.2f %9.2f %12.1f %9.2fx %14s\n", C[c], cpu, median(P[p] "|" C[c], 4), median(P[p] "|" C[c], 5) / 1024, cpu / ossl, rot
    }
  }
}' "$DIR/runs"
