#!/usr/bin/env bash
# The local observability stack, without Docker: brain's OpenTelemetry
# Collector (tools/otelcol), Jaeger (scripts/jaeger.sh) and Prometheus
# (Debian's package), all on 127.0.0.1. docs/stack.md describes it.
#
#   scripts/stack.sh build    build the collector and Jaeger if there are none for their pinned versions
#   scripts/stack.sh start    install Prometheus if missing (scripts/deps.sh), build, start all three
#                             in the background, wait until each is ready
#   scripts/stack.sh stop     stop all three (pid files), wait until they have exited
#   scripts/stack.sh status   running or not (exit 0 if all three run, 3 otherwise)
#
# Ports (127.0.0.1 only):
#   collector  OTLP gRPC 4317, OTLP HTTP 4318 (point brain-run here), Prometheus exporter 9464
#              (brain's metrics and the span metrics), own metrics 8889, health check 13134
#   Jaeger     query API + UI 16686, OTLP gRPC 24317 / HTTP 24318 (from the collector), and the
#              all-in-one's other listeners (scripts/jaeger.sh)
#   Prometheus 9090 (UI and HTTP API), rules deploy/prometheus/*.yaml
#
# Environment:
#   STACK_RUN_DIR        pid files, logs, Prometheus data, the collector's backup file
#                        (default .brain/stack in the repository)
#   OTELCOL_BIN          the collector (default: under BRAIN_TOOLS_CACHE, in a directory named
#                        by a hash of tools/otelcol's go.mod, go.sum and main.go and the Go
#                        version, so it is built once per pinned version)
#   BRAIN_TOOLS_CACHE    where built tools are kept (default $XDG_CACHE_HOME/brain/tools, or
#                        ~/.cache/brain/tools)
#   STACK_START_TRIES    readiness probes per component before start gives up, 0.1 s apart
#                        (default 600)
#   STACK_STOP_TRIES     exit checks before stop sends SIGKILL, 0.1 s apart (default 100)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/proc.sh"
MODDIR="$ROOT/tools/otelcol"
TOOLS_CACHE=${BRAIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/brain/tools}
if [[ -z ${OTELCOL_BIN:-} ]]; then
  key=$( (cat "$MODDIR/go.mod" "$MODDIR/go.sum" "$MODDIR/main.go"; go version 2>/dev/null) | sha256sum | cut -c1-16)
  OTELCOL_BIN=$TOOLS_CACHE/otelcol-$key/otelcol
fi
RUN_DIR=${STACK_RUN_DIR:-$ROOT/.brain/stack}
HOST=127.0.0.1
export JAEGER_RUN_DIR="$RUN_DIR/jaeger" JAEGER_OTLP_GRPC_PORT=24317 JAEGER_OTLP_HTTP_PORT=24318

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "stack.sh: $*" >&2; exit 1; }

# running_pid NAME EXE: the pid in NAME's pid file if it runs EXE (proc.sh).
running_pid() { pid_in "$RUN_DIR/$1.pid" "$2"; }

answers() { curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

cmd_build() {
  command -v go >/dev/null || die "go is required to build the collector"
  if [[ -x $OTELCOL_BIN ]]; then
    echo "otelcol: $OTELCOL_BIN is built for the pinned version"
  else
    echo "otelcol: building $OTELCOL_BIN (a cold build takes several minutes)..."
    mkdir -p "$(dirname "$OTELCOL_BIN")"
    local tmp="$OTELCOL_BIN.tmp.$$"
    (
      cd "$MODDIR"
      local version
      version=$(go list -m -f '{{.Version}}' go.opentelemetry.io/collector/otelcol)
      set -o pipefail
      go build -trimpath -v -o "$tmp" -ldflags="-X main.version=$version" . 2>&1 | bash "$ROOT/scripts/progress.sh" otelcol
    )
    mv -f "$tmp" "$OTELCOL_BIN" # whole or not at all
    echo "otelcol: built $OTELCOL_BIN"
  fi
  bash "$ROOT/scripts/jaeger.sh" build
}

# wait_ready NAME PID PROBE...: poll until every PROBE command succeeds, the
# process dies (its log is shown) or the tries run out.
wait_ready() {
  local name=$1 pid=$2 tries=${STACK_START_TRIES:-600} i
  shift 2
  for ((i = 0; i < tries; i++)); do
    if ! alive "$pid"; then
      rm -f "$RUN_DIR/$name.pid"
      tail -n 20 "$RUN_DIR/$name.log" >&2 || true
      die "$name exited during startup; log: $RUN_DIR/$name.log"
    fi
    if "$@"; then
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$RUN_DIR/$name.log" >&2 || true
  die "$name did not become ready after $tries probes; log: $RUN_DIR/$name.log"
}

otelcol_ready() { answers "http://$HOST:13134/" && port_open 4317 && port_open 4318 && answers "http://$HOST:9464/metrics"; }
prometheus_ready() { answers "http://$HOST:9090/-/ready"; }

# launch NAME CMD...: start CMD in the background, in a session of its own,
# its output in NAME.log and its pid in NAME.pid.
launch() {
  local name=$1
  shift
  rm -f "$RUN_DIR/$name.log"
  (umask 077 && : >"$RUN_DIR/$name.log")
  setsid nohup "$@" </dev/null >>"$RUN_DIR/$name.log" 2>&1 &
  (umask 077 && echo "$!" >"$RUN_DIR/$name.pid")
}

cmd_start() {
  command -v curl >/dev/null || die "curl is required"
  command -v prometheus >/dev/null || bash "$ROOT/scripts/deps.sh" prometheus
  command -v prometheus >/dev/null || die "prometheus is not installed and could not be (scripts/deps.sh prometheus needs root and apt)"
  local pid
  if [[ -z $(running_pid otelcol otelcol) ]]; then
    for port in 4317 4318 9464 8889 13134; do
      ! port_open "$port" || die "something else already listens on $HOST:$port, which the collector needs (a Jaeger of 'make traces'? make traces-stop)"
    done
  fi
  if [[ -z $(running_pid prometheus prometheus) ]] && port_open 9090; then
    die "something else already listens on $HOST:9090, which Prometheus needs"
  fi
  cmd_build
  (umask 077 && mkdir -p "$RUN_DIR")

  bash "$ROOT/scripts/jaeger.sh" start >/dev/null

  pid=$(running_pid otelcol otelcol)
  if [[ -z $pid ]]; then
    OTELCOL_HOST=$HOST JAEGER_OTLP_ENDPOINT="$HOST:$JAEGER_OTLP_GRPC_PORT" OTELCOL_FILE="$RUN_DIR/otelcol-backup.jsonl" \
      launch otelcol "$OTELCOL_BIN" --config "$ROOT/deploy/otelcol/config.yaml"
    pid=$(<"$RUN_DIR/otelcol.pid")
    wait_ready otelcol "$pid" otelcol_ready
  fi

  pid=$(running_pid prometheus prometheus)
  if [[ -z $pid ]]; then
    launch prometheus prometheus --config.file="$ROOT/deploy/prometheus/prometheus.yml" \
      --storage.tsdb.path="$RUN_DIR/prometheus-data" --web.listen-address="$HOST:9090" \
      --web.enable-lifecycle
    pid=$(<"$RUN_DIR/prometheus.pid")
    wait_ready prometheus "$pid" prometheus_ready
  fi
  cat <<EOF
stack: running, logs in $RUN_DIR
  collector   OTLP gRPC $HOST:4317, OTLP HTTP $HOST:4318, metrics for Prometheus http://$HOST:9464/metrics
  Jaeger      http://$HOST:16686
  Prometheus  http://$HOST:9090 (alerts: http://$HOST:9090/alerts)
Point brain-run at it:
  export OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4317
EOF
}

# stop_one NAME EXE: SIGTERM, wait, SIGKILL if it lingers (proc.sh).
stop_one() {
  local name=$1 pid
  pid=$(running_pid "$name" "$2")
  if [[ -z $pid ]]; then
    rm -f "$RUN_DIR/$name.pid"
    echo "$name: not running"
    return 0
  fi
  stop_pid "$name" "$pid" "${STACK_STOP_TRIES:-100}" || die "$name: pid $pid did not exit"
  rm -f "$RUN_DIR/$name.pid"
  echo "$name: stopped (pid $pid)"
}

cmd_stop() {
  stop_one prometheus prometheus
  stop_one otelcol otelcol
  bash "$ROOT/scripts/jaeger.sh" stop
}

cmd_status() {
  local rc=0 pid
  for c in otelcol prometheus; do
    pid=$(running_pid "$c" "$c")
    if [[ -n $pid ]]; then echo "$c: running (pid $pid), log $RUN_DIR/$c.log"; else echo "$c: not running"; rc=3; fi
  done
  bash "$ROOT/scripts/jaeger.sh" status || rc=3
  return $rc
}

case ${1:-} in
  build) cmd_build ;;
  start)
    # A start that fails stops again what it had started.
    trap 'rc=$?; ((rc == 0)) || { echo "stack.sh: not started; stopping what had started" >&2; cmd_stop >&2 || true; }' EXIT
    cmd_start
    trap - EXIT
    ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
