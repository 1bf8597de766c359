#!/usr/bin/env bash
# A walk through the audit chain with brain-audit: append events, verify,
# record the head, tamper with a record, see it caught, repair a torn tail.
set -euo pipefail
BIN=${1:-bin}
A="$BIN/brain-audit"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-demo.XXXXXX")
CHAIN="$DIR/audit.jsonl"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "append three events"
printf '%s\n' \
  '{"type":"command.start","session":"demo","argv0":"make"}' \
  '{"type":"llm.call","session":"demo","model":"gemini-2.5-flash","prompt_sha256":"9f86d081"}' \
  '{"type":"command.end","session":"demo","exit_code":0}' | "$A" append "$CHAIN"

step "verify the chain (PASS) and keep its head"
HEAD=$("$A" verify-log "$CHAIN" | cut -d' ' -f1)
echo "recorded head: $HEAD"

step "tamper with the llm.call record: the model name is changed"
sed -i 's/gemini-2.5-flash/gemini-2.5-pro/' "$CHAIN"
"$A" verify-log "$CHAIN" || echo "(exit $?: FAIL, as it should)"

step "restore the record, then simulate a crash mid-write (a torn tail)"
sed -i 's/gemini-2.5-pro/gemini-2.5-flash/' "$CHAIN"
printf '{"seq":4,"ts":"2026-' >> "$CHAIN"
"$A" verify-log "$CHAIN" || echo "(exit $?: torn tail, repairable)"

step "repair it: the torn bytes go to a quarantine file, a chain.repaired record is appended"
"$A" repair "$CHAIN"
"$A" verify-log --head "$HEAD" "$CHAIN"

step "the records of one session"
"$A" show --session demo "$CHAIN" | cut -c1-120

R="$BIN/brain-run"
step "brain-run exec: run a command traced and audited (spans and chain in $DIR/ws)"
"$R" exec --dir "$DIR/ws" --print-session -- sh -c 'echo "hello from a traced command"; exit 3' || echo "(exit $?: the command's own code)"
"$A" show --type exec.end "$DIR/ws/audit.jsonl" | cut -c1-160
echo "spans on disk: $(grep -o '"spanId"' "$DIR/ws/spans.jsonl" | wc -l) in $DIR/ws/spans.jsonl (OTLP JSON)"
"$A" verify-log "$DIR/ws"
echo
echo "files are in $DIR"
