#!/usr/bin/env bash
# Reproduces the audit-chain speed numbers in BENCHMARKS.md:
#   * bulk append (brain-audit append --sync=batch) of N records of ~400 bytes,
#   * verify-log of the resulting chain against `openssl dgst -sha256` of the
#     same file (the single-core SHA-NI hashing limit for those bytes).
# Usage: scripts/bench-verify.sh [N] [RUNS]   (defaults 1000000 and 5)
set -euo pipefail
N=${1:-1000000}
RUNS=${2:-5}
cd "$(dirname "$0")/.."
make -s build
A=bin/brain-audit
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"input_tokens\":1234,\"output_tokens\":567,\"n\":%d}\n", i
}' > "$DIR/events.jsonl"

secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'; }

t=$(secs "$A" append --sync=batch "$DIR/audit.jsonl" < "$DIR/events.jsonl")
size=$(stat -c %s "$DIR/audit.jsonl")
echo "chain: $N records, $size bytes, $((size / (N + 1))) bytes/record"
printf 'append --sync=batch: %.2f s, %.0f records/s\n' "$t" "$(awk -v n="$N" -v t="$t" 'BEGIN { print n / t }')"
"$A" verify-log "$DIR/audit.jsonl" > /dev/null 2>&1 || { echo "verify-log failed"; exit 1; }

cat "$DIR/audit.jsonl" > /dev/null # warm the page cache
for tool in verify openssl; do
  all=()
  for _ in $(seq "$RUNS"); do
    if [ "$tool" = verify ]; then all+=("$(secs "$A" verify-log "$DIR/audit.jsonl")")
    else all+=("$(secs openssl dgst -sha256 "$DIR/audit.jsonl")"); fi
  done
  sorted=$(printf '%s\n' "${all[@]}" | sort -n)
  printf '%-8s min %.3f s  median %.3f s  (%s runs)\n' "$tool" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")" "$RUNS"
done
