# Scenario check-fails: plan, then execute, where the second task's reply
# fails both of its acceptance checks: that task ends failed and execute
# exits 1 (a task failed its checks), after recording everything.
set -eu
cp -R "$SCENARIO_DIR/project/." .
export BRAIN_STATE_KEY=golden-scenario-throwaway-key
c="$SCENARIO_DIR/cassette.jsonl"
brain-run plan --cassette "$c" --goal "$(cat "$SCENARIO_DIR/goal.txt")"
rc=0
brain-run execute --cassette "$c" || rc=$?
test "$rc" -eq 1
