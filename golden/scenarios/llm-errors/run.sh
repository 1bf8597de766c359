# Scenario llm-errors: the plan model's key is revoked (HTTP 401), a second
# plan model answers, then the task model is rate limited (HTTP 429). Both
# failures exit 5 and leave their spans and audit records.
set -eu
cp -R "$SCENARIO_DIR/project/." .
export BRAIN_STATE_KEY=golden-scenario-throwaway-key
c="$SCENARIO_DIR/cassette.jsonl"
goal=$(cat "$SCENARIO_DIR/goal.txt")
rc=0
brain-run plan --cassette "$c" --goal "$goal" || rc=$?
test "$rc" -eq 5
test ! -e tasks.yaml
brain-run plan --cassette "$c" --plan-model gemini-2.5-flash --goal "$goal"
rc=0
brain-run execute --cassette "$c" || rc=$?
test "$rc" -eq 5
