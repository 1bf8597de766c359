#!/usr/bin/env bash
# Reproduces the checkpoint numbers in BENCHMARKS.md:
#   * verify-log --vkey (every checkpoint's signature, its root recomputed,
#     the checkpoints against each other) against plain verify-log, of a
#     chain of N records with a checkpoint every 1,000 (made the way a user
#     would: append, checkpoint, append, ...), runs interleaved, in one run;
#   * verify-proof of one record of that chain, offline (the process, next to
#     the same binary's start-up alone, and VerifyProof in process as a Go
#     benchmark).
# Usage: scripts/bench-checkpoint.sh [N] [RUNS]   (defaults 1000000 and 9)
set -euo pipefail
N=${1:-1000000}
RUNS=${2:-9}
EVERY=1000
cd "$(dirname "$0")/.."
make -s build
A=$PWD/bin/brain-audit
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench-ckpt.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

"$A" keygen --in-workspace -o "$DIR/k" bench.example/log > /dev/null 2>&1
awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"input_tokens\":1234,\"output_tokens\":567,\"n\":%d}\n", i
}' > "$DIR/events.jsonl"
split -l "$EVERY" -d -a 6 "$DIR/events.jsonl" "$DIR/part."
rm "$DIR/events.jsonl"
for p in "$DIR"/part.*; do
  "$A" append --sync=batch "$DIR/audit.jsonl" < "$p" > /dev/null
  "$A" checkpoint --key "$DIR/k.key" "$DIR/audit.jsonl" > /dev/null 2>&1
  rm "$p"
done
size=$(stat -c %s "$DIR/audit.jsonl")
ckpts=$(wc -l < "$DIR/audit.jsonl.checkpoints")
echo "chain: $N records, $size bytes, $ckpts checkpoints (one every $EVERY records)"
"$A" verify-log --vkey "$DIR/k.vkey" "$DIR/audit.jsonl" > /dev/null 2>&1 || { echo "verify-log --vkey failed"; exit 1; }

cat "$DIR/audit.jsonl" > /dev/null # warm the page cache
# One run: wall seconds, CPU seconds (user+sys), peak RSS in KiB.
measure() { /usr/bin/time -f '%e %U %S %M' "$@" 2>&1 > /dev/null | tail -1 | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }'; }
plain=() vkey=()
for _ in $(seq "$RUNS"); do
  plain+=("$(measure "$A" verify-log "$DIR/audit.jsonl")")
  vkey+=("$(measure "$A" verify-log --vkey "$DIR/k.vkey" "$DIR/audit.jsonl")")
done
median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{ print $c }'; }
pw=$(col 1 "${plain[@]}" | median) pc=$(col 2 "${plain[@]}" | median) pm=$(col 3 "${plain[@]}" | median)
vw=$(col 1 "${vkey[@]}" | median) vc=$(col 2 "${vkey[@]}" | median) vm=$(col 3 "${vkey[@]}" | median)
printf 'verify-log          median wall %.3f s  cpu %.2f s  peak %d KiB  (%s runs)\n' "$pw" "$pc" "$pm" "$RUNS"
printf 'verify-log --vkey   median wall %.3f s  cpu %.2f s  peak %d KiB\n' "$vw" "$vc" "$vm"
awk -v a="$vw" -v b="$pw" -v c="$vc" -v d="$pc" 'BEGIN { printf "ratio               wall %.2fx  cpu %.2fx  (of the medians)\n", a / b, c / d }'
# On a shared machine the load drifts between runs: the ratio of each pair of
# runs made one after the other, and their median, is steadier.
pairs() { for i in $(seq 0 $((RUNS - 1))); do
  awk -v a="$(col "$1" "${vkey[$i]}")" -v b="$(col "$1" "${plain[$i]}")" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "inf" }'
done; }
printf 'ratio by pair       wall %.2fx  cpu %.2fx  (median of the %d pairs; wall pairs: %s)\n' "$(pairs 1 | median)" "$(pairs 2 | median)" "$RUNS" "$(pairs 1 | sort -n | tr '\n' ' ' | sed 's/ $//')"

seq=$((N / 2))
"$A" prove --seq "$seq" "$DIR/audit.jsonl" > "$DIR/r.proof" 2> /dev/null
hashes=$(awk '/^index /{ on = 1; next } on && /^$/{ exit } on { n++ } END { print n + 0 }' "$DIR/r.proof")
secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'; }
# The baseline: the same binary starting and doing nothing else (--version),
# runs interleaved with verify-proof's.
t=() base=()
for _ in $(seq "$RUNS"); do
  t+=("$(secs "$A" verify-proof --vkey "$DIR/k.vkey" "$DIR/r.proof")")
  base+=("$(secs "$A" --version)")
done
ms() { printf '%s\n' "$@" | median | awk '{ print $1 * 1000 }'; }
printf 'verify-proof        record %d, %d hashes, %d bytes: median %.1f ms wall for the whole process; brain-audit --version %.1f ms\n' "$seq" "$hashes" "$(stat -c %s "$DIR/r.proof")" "$(ms "${t[@]}")" "$(ms "${base[@]}")"
BENCH_CHAIN=$DIR/audit.jsonl go test -run '^$' -bench 'VerifyProof$' -benchtime 200x ./chain/checkpoint | grep '^Benchmark'

# brain-run exec -- true, without a signer key and with one (a checkpoint
# signed at its end: the records since the last one read, one fdatasync).
mkdir -p "$DIR/ws"
R=$PWD/bin/brain-run
(cd "$DIR/ws" && "$R" exec -- true && BRAIN_CHECKPOINT_KEY_FILE="$DIR/k.key" "$R" exec -- true) > /dev/null 2>&1
without=() with=()
for _ in $(seq $((RUNS * 3))); do
  without+=("$(cd "$DIR/ws" && secs "$R" exec -- true)")
  with+=("$(cd "$DIR/ws" && BRAIN_CHECKPOINT_KEY_FILE="$DIR/k.key" secs "$R" exec -- true)")
done
RUNS=$((RUNS * 3))
printf 'brain-run exec      median %.1f ms without a signer key, %.1f ms with one (%d runs each, interleaved)\n' \
  "$(printf '%s\n' "${without[@]}" | median | awk '{ print $1 * 1000 }')" "$(printf '%s\n' "${with[@]}" | median | awk '{ print $1 * 1000 }')" "$RUNS"
