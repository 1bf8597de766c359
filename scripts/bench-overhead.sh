#!/usr/bin/env bash
# Reproduces the tracing-and-audit overhead numbers in BENCHMARKS.md, on the
# golden scenario (plan, then execute of its three tasks and nine checks) in
# one process: instrumented (the product's telemetry, spans to disk, and its
# hash-chained audit log, one fdatasync per record) against bare (a no-op
# tracer and an in-memory audit sink; a benchmark-only harness,
# BenchmarkScenario in internal/orchestrator).
#
# 1. ROUNDS rounds, each running the three modes (instrumented, bare, and
#    bare with one 512-byte write and fdatasync per record; the order
#    rotating) for N scenario runs over one warm compilation cache; prints
#    the medians of CPU time (getrusage, all threads and the checks' sandbox
#    processes) and wall time per scenario run.
# 2. One CPU profile of the instrumented mode: the CPU spent in
#    OpenTelemetry, brain's telemetry, pdata, the audit logger and the chain,
#    per scenario run. This does not depend on the machine's load the way a
#    difference of two noisy totals does.
#
# Usage: scripts/bench-overhead.sh [ROUNDS] [N]   (default 8, 20)
set -euo pipefail
ROUNDS=${1:-8}
N=${2:-20}
cd "$(dirname "$0")/.."
TMP=$(mktemp -d "${TMPDIR:-/tmp}/brain-bench-overhead.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
go test -c -o "$TMP/orchestrator.test" ./internal/orchestrator
export BRAIN_CACHE_DIR="$TMP/cache"
mkdir -p "$BRAIN_CACHE_DIR"
cd internal/orchestrator
bench() { "$TMP/orchestrator.test" -test.run '^$' -test.bench "Scenario/$1\$" -test.benchtime "${N}x" "${@:2}" | grep '^BenchmarkScenario'; }
bench bare > /dev/null # fill the cache
for r in $(seq "$ROUNDS"); do
  case $(( r % 3 )) in
    1) bench instrumented; bench fsync; bench bare ;;
    2) bench fsync; bench bare; bench instrumented ;;
    0) bench bare; bench instrumented; bench fsync ;;
  esac
done | tee "$TMP/rounds.txt"
# The profile takes more runs: at 100 samples a second, the telemetry and
# audit code gets only a few samples per scenario run.
P=$((5 * N))
"$TMP/orchestrator.test" -test.run '^$' -test.bench 'Scenario/instrumented$' -test.benchtime "${P}x" -test.cpuprofile "$TMP/cpu.prof" | grep '^BenchmarkScenario' > "$TMP/profiled.txt"
profiled=$(awk '{ for (i = 2; i < NF; i++) if ($(i+1) == "cpu-ms/op") print $i }' "$TMP/profiled.txt")
# Samples under the telemetry and audit code, in seconds, with and without
# the fdatasync calls themselves; the profile also holds the set-up and the
# b.N=1 pass, so per run is over P+2 runs (both one-time costs included).
focus='go.opentelemetry.io|brain/internal/telemetry|collector/pdata|brain/internal/audit|brain/chain'
seconds() { awk '/^Showing nodes accounting for/ { v = $5; sub(/,$/, "", v); if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else sub(/s$/, "", v); print v }'; }
attributed=$(go tool pprof -top -focus "$focus" "$TMP/orchestrator.test" "$TMP/cpu.prof" 2>/dev/null | seconds)
nosync=$(go tool pprof -top -focus "$focus" -ignore 'Fdatasync' "$TMP/orchestrator.test" "$TMP/cpu.prof" 2>/dev/null | seconds)
awk -v attributed="$attributed" -v nosync="$nosync" -v runs="$((P + 2))" -v profiled="$profiled" '
  { split($1, p, "/"); mode = p[2]; sub(/-[0-9]+$/, "", mode)
    for (i = 2; i < NF; i++) { if ($(i+1) == "ns/op") wall[mode] = wall[mode] " " $i; if ($(i+1) == "cpu-ms/op") cpu[mode] = cpu[mode] " " $i; if ($(i+1) == "records/op") rec = $i } }
  function range(s,   a, n, i, lo, hi) {
    n = split(s, a, " "); lo = hi = a[1] + 0
    for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
    return sprintf("%.1f-%.1f", lo, hi)
  }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    ci = median(cpu["instrumented"]); cb = median(cpu["bare"]); cf = median(cpu["fsync"])
    wi = median(wall["instrumented"]) / 1e6; wb = median(wall["bare"]) / 1e6; wf = median(wall["fsync"]) / 1e6
    printf "\nmedians of the rounds, per scenario run:\n"
    printf "  cpu:  instrumented %.1f ms (%s), bare %.1f ms (%s), bare+fdatasync %.1f ms (%s)\n", ci, range(cpu["instrumented"]), cb, range(cpu["bare"]), cf, range(cpu["fsync"])
    printf "        instrumented over bare %+.1f ms (%+.1f %%); over bare+fdatasync %+.1f ms (%+.1f %%)\n", ci - cb, 100 * (ci - cb) / cb, ci - cf, 100 * (ci - cf) / cf
    printf "  wall: instrumented %.1f ms, bare %.1f ms, bare+fdatasync %.1f ms\n", wi, wb, wf
    printf "  audit records: %d (each one fdatasync when instrumented)\n", rec
    per = 1000 * attributed / runs; ns = 1000 * nosync / runs
    printf "cpu profile of the instrumented mode (%d runs, %.1f ms of cpu each):\n", runs - 2, profiled
    printf "  telemetry and audit code: %.2f ms per run (%.1f %%); without the fdatasync calls: %.2f ms (%.1f %%)\n", per, 100 * per / profiled, ns, 100 * ns / profiled
  }' "$TMP/rounds.txt"
