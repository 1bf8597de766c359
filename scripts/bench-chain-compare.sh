#!/usr/bin/env bash
# Compares brain-audit built from this tree with brain-audit built from an
# earlier revision, in one run, so a slow minute of a shared machine falls on
# both alike:
#   * verify-log of a 1,000,000-record chain, and openssl dgst -sha256 of the
#     same file, interleaved (scripts/interleave: median, quartiles), and
#     verify-log's CPU time;
#   * append --sync=batch of 1,000,000 events into a new chain, interleaved;
#   * time and peak memory (max RSS) of verify-log on hostile 16 MB files
#     (blank lines, one-brace lines, repeated keys, one 16 MB line), of diff
#     of two files holding a 100 MB line, and of append of one line of
#     10,000 escaped keys;
#   * the chain's Go benchmarks of both revisions (Verify, Process/fast,
#     /fast with the plain hash.Hash, /general, FastRecord), as CPU time
#     per iteration, interleaved;
#   * brain-run exec -- true of both revisions, interleaved (start-up).
# Usage: scripts/bench-chain-compare.sh REV [ROUNDS]   (ROUNDS default 15)
set -euo pipefail
REV=${1:?usage: scripts/bench-chain-compare.sh REV [ROUNDS]}
ROUNDS=${2:-15}
cd "$(dirname "$0")/.."
DIR=$(mktemp -d "${TMPDIR:-/tmp}/brain-compare.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/src" "$DIR/old" "$DIR/new"
git archive "$REV" | tar -x -C "$DIR/src"
(cd "$DIR/src" && CGO_ENABLED=0 go build -trimpath -o "$DIR/old/" ./cmd/brain-audit)
CGO_ENABLED=0 go build -trimpath -o "$DIR/new/" ./cmd/brain-audit
go build -o "$DIR/interleave" ./scripts/interleave
OLD=$DIR/old/brain-audit NEW=$DIR/new/brain-audit
echo "old: $(git rev-parse --short "$REV"), new: this tree"

awk 'BEGIN {
  for (i = 0; i < 1000000; i++)
    printf "{\"type\":\"llm_provider.chat\",\"session\":\"c0ffee00-1234-4abc-9def-0123456789ab\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\",\"model\":\"gemini-2.5-flash\",\"input_tokens\":1234,\"output_tokens\":567,\"n\":%d}\n", i
}' > "$DIR/events.jsonl"
"$NEW" append --sync=batch "$DIR/chain.jsonl" < "$DIR/events.jsonl" > /dev/null
"$OLD" verify-log "$DIR/chain.jsonl" > /dev/null 2>&1 && "$NEW" verify-log "$DIR/chain.jsonl" > /dev/null 2>&1
cat "$DIR/chain.jsonl" > /dev/null # warm the page cache

echo "== verify-log of $(stat -c %s "$DIR/chain.jsonl") bytes, 1,000,001 records: median q1 q3 (ms), $ROUNDS rounds"
"$DIR/interleave" "$ROUNDS" "$OLD verify-log $DIR/chain.jsonl" "$NEW verify-log $DIR/chain.jsonl" "openssl dgst -sha256 $DIR/chain.jsonl" |
  sed "s|$DIR/||g"

# CPU time is steadier than wall time on a shared machine: user+sys of each
# run (10 ms resolution), interleaved.
echo "== verify-log CPU time, user+sys: median q1 q3 (s), $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
  for v in old new; do
    /usr/bin/time -q -f "$v %U %S" -a -o "$DIR/cpu" "$DIR/$v/brain-audit" verify-log "$DIR/chain.jsonl" > /dev/null 2>&1
  done
done
for v in old new; do
  awk -v v="$v" '$1 == v { print $2 + $3 }' "$DIR/cpu" | sort -n |
    awk -v v="$v" '{ a[NR] = $1 } END { printf "%.2f %.2f %.2f %s verify-log\n", a[int((NR + 1) / 2)], a[int(NR / 4) + 1], a[int(3 * NR / 4)], v }'
done

for v in old new; do
  printf 'rm -f %s/a-%s.jsonl %s/a-%s.jsonl.lock\n%s/%s/brain-audit append --sync=batch %s/a-%s.jsonl < %s/events.jsonl\n' \
    "$DIR" "$v" "$DIR" "$v" "$DIR" "$v" "$DIR" "$v" "$DIR" > "$DIR/append-$v.sh"
done
echo "== append --sync=batch of 1,000,000 events into a new chain: median q1 q3 (ms), $(( (ROUNDS + 1) / 2 )) rounds"
"$DIR/interleave" $(( (ROUNDS + 1) / 2 )) "sh $DIR/append-old.sh" "sh $DIR/append-new.sh" | sed "s|$DIR/||g"

echo '{"type":"t"}' | "$NEW" append "$DIR/h.jsonl" > /dev/null
head -1 "$DIR/h.jsonl" > "$DIR/hdr"
hostile() { cat "$DIR/hdr" - > "$DIR/$1.jsonl"; }
head -c 16777216 /dev/zero | tr '\0' '\n' | hostile blank
(yes '{' || true) | head -c 16777216 | hostile brace
(yes '{"a":1,"a":2}' || true) | head -c 16777216 | hostile dupkeys
{ head -c 16777216 /dev/zero | tr '\0' x; echo; } | hostile huge
{ head -c 104857600 /dev/zero | tr '\0' x; echo a; } | hostile diff-a
{ head -c 104857600 /dev/zero | tr '\0' x; echo b; } | hostile diff-b
awk 'BEGIN { printf "{\"type\":\"t\""; for (i = 0; i < 10000; i++) printf ",\"\\u006b%d\":%d", i, i; print "}" }' > "$DIR/keys.jsonl"

echo "== time and peak memory"
measure() { # NAME CMD...: one run, its wall time and max RSS
  local name=$1; shift
  /usr/bin/time -q -f "%e s %M KiB" -o "$DIR/time" "$@" > /dev/null 2>&1 || true
  printf '%-44s %s\n' "$name" "$(cat "$DIR/time")"
}
for v in old new; do
  B=$DIR/$v/brain-audit
  for f in blank brace dupkeys huge; do
    measure "$v verify-log $f (16 MB)" "$B" verify-log "$DIR/$f.jsonl"
  done
  measure "$v verify-log - < blank (16 MB)" sh -c "exec $B verify-log - < $DIR/blank.jsonl"
  measure "$v GOMAXPROCS=8 verify-log blank (16 MB)" env GOMAXPROCS=8 "$B" verify-log "$DIR/blank.jsonl"
  measure "$v diff (a 100 MB line each)" "$B" diff "$DIR/diff-a.jsonl" "$DIR/diff-b.jsonl"
  measure "$v append (10,000 escaped keys)" sh -c "exec $B append $DIR/keys-$v.jsonl < $DIR/keys.jsonl"
done

# The Go benchmarks: CPU time per iteration, as user+sys of the test binary
# at N iterations less that at 1 iteration (the set-up), over N-1: steadier
# than ns/op where other work shares the machine.
(cd "$DIR/src" && go test -c -o "$DIR/old/chain.test" ./chain)
go test -c -o "$DIR/new/chain.test" ./chain
cputime() { # CMD...: user+sys seconds
  /usr/bin/time -q -f "%U %S" -o "$DIR/time" "$@" > /dev/null 2>&1
  awk '{ print $1 + $2 }' "$DIR/time"
}
GOROUNDS=$(( (ROUNDS + 2) / 3 ))
echo "== Go benchmarks, CPU per iteration: median q1 q3, $GOROUNDS interleaved rounds"
for r in $(seq "$GOROUNDS"); do
  for v in old new; do
    T=$DIR/$v/chain.test
    while read -r name bench n scale unit; do
      one=$(cputime env BENCH_FILE="$DIR/chain.jsonl" "$T" -test.run '^$' -test.bench "$bench" -test.benchtime 1x)
      all=$(cputime env BENCH_FILE="$DIR/chain.jsonl" "$T" -test.run '^$' -test.bench "$bench" -test.benchtime "${n}x")
      awk -v v="$v" -v name="$name" -v a="$one" -v b="$all" -v n="$n" -v s="$scale" -v u="$unit" \
        'BEGIN { printf "%s %s %.4f %s\n", name, v, (b - a) / (n - 1) * s, u }' >> "$DIR/gobench"
    done <<'LIST'
Verify ^BenchmarkVerify$ 6 1e3 ms/verify-of-1M-records
Process/fast ^BenchmarkProcess$/^fast$ 4000 1e6 ns/line
Process/fast-plain-hash ^BenchmarkProcess$/^fast-(stdlib|reference)-hash$ 4000 1e6 ns/line
Process/general ^BenchmarkProcess$/^general$ 1000 1e6 ns/line
FastRecord ^BenchmarkFastRecord$ 10000 1e6 ns/line
LIST
  done
done
for key in $(awk '{ print $1 "/" $2 }' "$DIR/gobench" | sort -u); do
  name=${key%/*}; v=${key##*/}
  awk -v name="$name" -v v="$v" '$1 == name && $2 == v { print $3, $4 }' "$DIR/gobench" | sort -n |
    awk -v k="$name $v" '{ a[NR] = $1; u = $2 } END { printf "%s %.2f %.2f %.2f %s\n", k, a[int((NR + 1) / 2)], a[int((NR + 3) / 4)], a[int((3 * NR + 3) / 4)], u }'
done

# brain-run exec's start-up, both revisions, each with a workspace of its own.
(cd "$DIR/src" && CGO_ENABLED=0 go build -trimpath -o "$DIR/old/" ./cmd/brain-run)
CGO_ENABLED=0 go build -trimpath -o "$DIR/new/" ./cmd/brain-run
for v in old new; do "$DIR/$v/brain-run" exec --dir "$DIR/ws-$v" -- true; done
echo "== brain-run exec -- true: median q1 q3 (ms), $(( ROUNDS * 10 )) rounds"
"$DIR/interleave" $(( ROUNDS * 10 )) true "$DIR/old/brain-run exec --dir $DIR/ws-old -- true" "$DIR/new/brain-run exec --dir $DIR/ws-new -- true" |
  sed "s|$DIR/||g"
