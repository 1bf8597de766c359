# Scenario basic: the whole workflow, offline. brain-run plan turns the goal
# into tasks.yaml, brain-run execute runs its three tasks (context, model,
# artifact, WebAssembly checks): every check passes.
#
# Run by scripts/coverage-lint.sh (make coverage-lint) in an empty working
# directory; the replay cassette answers the model calls, the spans and the
# audit chain land in $BRAIN_DIR.
set -eu
cp -R "$SCENARIO_DIR/project/." .
export BRAIN_STATE_KEY=golden-scenario-throwaway-key
brain-run plan --cassette "$SCENARIO_DIR/cassette.jsonl" --goal "$(cat "$SCENARIO_DIR/goal.txt")"
brain-run execute --cassette "$SCENARIO_DIR/cassette.jsonl"
