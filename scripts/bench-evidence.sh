#!/usr/bin/env bash
# Reproduces the evidence numbers in BENCHMARKS.md, in one run, runs
# interleaved: brain-audit evidence of a chain of N records (one signed
# checkpoint) with --sample 0 and --sample 5, against verify-log --vkey of
# the same chain (the pass evidence cannot avoid); evidence verify of the
# --sample 5 bundle against its baseline, verify-proof of one of its proofs.
# Usage: scripts/bench-evidence.sh [N] [RUNS]   (defaults 1000000 and 5)
set -euo pipefail
N=${1:-1000000}
RUNS=${2:-5}
cd "$(dirname "$0")/.."
make -s build
A=$PWD/bin/brain-audit
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench-evidence.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

"$A" keygen --in-workspace -o "$DIR/k" bench.example/log > /dev/null 2>&1
awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"n\":%d}\n", i
}' | "$A" append --sync=batch "$DIR/audit.jsonl" > /dev/null
"$A" checkpoint --key "$DIR/k.key" "$DIR/audit.jsonl" > /dev/null 2>&1
echo "chain: $N records, $(stat -c %s "$DIR/audit.jsonl") bytes, 1 checkpoint"
cat "$DIR/audit.jsonl" > /dev/null # warm the page cache

measure() { /usr/bin/time -f '%e %U %S %M' "$@" 2>&1 > /dev/null | tail -1 | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }'; }
base=() s0=() s5=() ver=()
for i in $(seq "$RUNS"); do
  base+=("$(measure "$A" verify-log --vkey "$DIR/k.vkey" "$DIR/audit.jsonl")")
  s0+=("$(measure "$A" evidence --key "$DIR/k.key" --sample 0 -o "$DIR/b0-$i" "$DIR/audit.jsonl")")
  s5+=("$(measure "$A" evidence --key "$DIR/k.key" --sample 5 --seed "$i" -o "$DIR/b5-$i" "$DIR/audit.jsonl")")
  ver+=("$(measure "$A" evidence verify --vkey "$DIR/k.vkey" "$DIR/b5-$i")")
done
"$A" evidence verify --vkey "$DIR/k.vkey" "$DIR/b5-1" > /dev/null 2>&1 || { echo "evidence verify failed"; exit 1; }
median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{ print $c }'; }
report() {
  local name=$1; shift
  printf '%-28s median wall %.3f s  cpu %.2f s  peak %d KiB\n' "$name" "$(col 1 "$@" | median)" "$(col 2 "$@" | median)" "$(col 3 "$@" | median)"
}
report "verify-log --vkey" "${base[@]}"
report "evidence --sample 0" "${s0[@]}"
report "evidence --sample 5" "${s5[@]}"
report "evidence verify (5 proofs)" "${ver[@]}"
# the ratio of each run to the baseline run made just before it, median
pairs() { local c=$1; shift; for i in $(seq 0 $((RUNS - 1))); do
  awk -v a="$(col "$c" "${@:$((i + 1)):1}")" -v b="$(col "$c" "${base[$i]}")" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "inf" }'
done | median; }
printf 'ratio to verify-log --vkey   --sample 0: wall %.2fx cpu %.2fx;  --sample 5: wall %.2fx cpu %.2fx  (median of %d pairs)\n' \
  "$(pairs 1 "${s0[@]}")" "$(pairs 2 "${s0[@]}")" "$(pairs 1 "${s5[@]}")" "$(pairs 2 "${s5[@]}")" "$RUNS"
