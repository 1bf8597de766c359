#!/usr/bin/env bash
# make coverage-lint: the CI job behind the critical-path and audit coverage
# figures. It runs every golden scenario (golden/scenarios/NAME/run.sh)
# through brain-run, offline, and lints the spans and the audit chain it
# wrote against the scenario's expectations (expect.yaml); then it checks
# that brain-trace-lint catches every deliberately broken variant
# (testdata/scenarios/NAME/VARIANT/: spans.jsonl, audit.jsonl, want.txt).
#
#   scripts/coverage-lint.sh BIN            lint every scenario; exit 1 on any failure
#   scripts/coverage-lint.sh BIN --update   rewrite each scenario's expect.yaml from a
#                                           fresh run and print the diff
#
# BIN holds the built binaries (make build). A scenario's run.sh runs with
# `sh`, in a new empty directory, with an environment of only PATH (BIN
# first), HOME (that directory), TMPDIR, NO_COLOR, SCENARIO_DIR (the
# scenario's directory) and BRAIN_DIR (DIR/.brain, the workspace every
# brain-run of the scenario writes to): no endpoint, no API key, no session
# from outside. It must exit 0. docs/trace-lint.md describes the contract.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 BIN [--update]" >&2; exit 2; }
BIN=$(cd "$1" && pwd)
MODE=${2:-}
[[ -z $MODE || $MODE == --update ]] || { echo "usage: $0 BIN [--update]" >&2; exit 2; }
LINT="$BIN/brain-trace-lint"
cd "$ROOT" # scenario paths in the output are relative to the repository

failed=0
work_dirs=()
cleanup() { [[ ${#work_dirs[@]} -eq 0 ]] || rm -rf "${work_dirs[@]}"; }
trap cleanup EXIT

say() { echo "coverage-lint: $*"; }

for dir in golden/scenarios/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  if [[ ! -f $dir/run.sh ]]; then
    say "error: scenario $name has no run.sh"
    failed=1
    continue
  fi
  work=$(mktemp -d)
  work_dirs+=("$work")
  if ! (cd "$work" && env -i PATH="$BIN:$PATH" HOME="$work" TMPDIR="${TMPDIR:-/tmp}" NO_COLOR=1 SCENARIO_DIR="$ROOT/$dir" BRAIN_DIR="$work/.brain" \
        sh "$ROOT/$dir/run.sh" >"$work/run.log" 2>&1); then
    say "error: scenario $name: run.sh failed; its output:"
    sed 's/^/    /' "$work/run.log"
    failed=1
    continue
  fi
  args=(--scenario "$dir" --audit "$work/.brain/audit.jsonl" "$work/.brain/spans.jsonl")
  if [[ $MODE == --update ]]; then
    args=(--update "${args[@]}")
  fi
  say "scenario $name"
  if ! "$LINT" "${args[@]}"; then
    failed=1
  fi
done

[[ $MODE == --update ]] && exit "$failed"

# Every broken variant must fail the lint, with each rule its want.txt lists.
for v in testdata/scenarios/*/*/; do
  v=${v%/}
  [[ -f $v/want.txt ]] || continue
  scenario=$(basename "$(dirname "$v")")
  label="broken variant $scenario/$(basename "$v")"
  set +e
  out=$("$LINT" --format json --scenario "golden/scenarios/$scenario" --audit "$v/audit.jsonl" "$v/spans.jsonl" 2>&1)
  rc=$?
  set -e
  if [[ $rc -ne 1 ]]; then
    say "error: $label: exit $rc, want 1 (violations)"
    failed=1
    continue
  fi
  missing=0
  while read -r rule _; do
    [[ -z $rule || $rule == \#* ]] && continue
    if ! grep -q "\"rule\":\"$rule\"" <<<"$out"; then
      say "error: $label: no $rule finding"
      missing=1
    fi
  done <"$v/want.txt"
  if [[ $missing -eq 0 ]]; then
    say "$label: caught"
  else
    failed=1
  fi
done

if [[ $failed -ne 0 ]]; then
  say "FAIL"
  exit 1
fi
say "PASS"
