#!/usr/bin/env bash
# make demo: brain-run demo runs the golden scenario offline (plan, execute,
# verify), then a walk through what it left: the task states, the audit
# records, the HTML incident report, and brain-audit catching a tampered record and repairing a torn
# tail in a copy of the chain.
set -euo pipefail
BIN=${1:-bin}
R="$BIN/brain-run"
A="$BIN/brain-audit"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-demo.XXXXXX")
WS="$DIR/.brain"
# Bold step lines only on a terminal, and never with NO_COLOR set.
if [[ -t 1 && -z ${NO_COLOR+x} ]]; then
  step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
  step() { printf '\n$ %s\n' "$*"; }
fi

step "brain-run demo $DIR"
"$R" demo "$DIR"

step "brain-run status --chain: the tasks, and the state rebuilt from the audit chain"
"$R" status --dir "$WS" --state-key-file "$WS/state.key" --chain

step "the model calls in the audit chain: model, tokens, latency, hashes only"
"$A" show --type llm.call "$WS/audit.jsonl" | cut -c1-200

step "the HTML incident report: verdicts, waterfall, records; open it in a browser"
"$BIN/brain-trace-lint" report -o "$DIR/report.html" --audit "$WS/audit.jsonl" "$WS/spans.jsonl"

step "tamper with a copy of the chain: turn config's failed check count from 0 to 1"
COPY="$DIR/tampered.jsonl"
cp "$WS/audit.jsonl" "$COPY"
sed -i '0,/"task_id":"config","passed":3,"failed":0/s//"task_id":"config","passed":2,"failed":1/' "$COPY"
"$A" verify-log "$COPY" || echo "(exit $?: FAIL, as it should)"

step "a crash mid-write leaves a torn tail: repair moves it aside and records that"
TORN="$DIR/torn.jsonl"
cp "$WS/audit.jsonl" "$TORN"
printf '{"seq":20,"ts":"2026-' >> "$TORN"
"$A" verify-log "$TORN" || echo "(exit $?: torn tail, repairable)"
"$A" repair "$TORN"
"$A" verify-log "$TORN"

echo
echo "files are in $DIR"
