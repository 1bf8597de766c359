#!/usr/bin/env bash
# A real Jaeger (v2 all-in-one, memory storage) without Docker, built from the
# Go module pinned in tools/jaeger and bound to 127.0.0.1 only.
#
#   scripts/jaeger.sh build                  build the binary if there is none for the pinned version
#   scripts/jaeger.sh start                  build, start in the background, wait until ready
#   scripts/jaeger.sh stop                   stop it (pid file), wait until it has exited
#   scripts/jaeger.sh status                 running or not (exit 0 / 3)
#   scripts/jaeger.sh query-session ID [SVC] traces of service SVC (brain-run) whose spans
#                                            carry brain.session_id=ID, as JSON; exit 1 if none
#   scripts/jaeger.sh selftest               send one span over OTLP gRPC (tools/jaeger/sendspan)
#                                            and find it again by its session id
#
# Ports (all on 127.0.0.1): OTLP gRPC 4317, OTLP HTTP 4318, query API + UI 16686,
# query gRPC 16685; and the all-in-one's other listeners (Jaeger/Zipkin receivers,
# sampling, health check, metrics, expvar, zpages), also on 127.0.0.1.
#
# Environment:
#   JAEGER_RUN_DIR       pid file and log (default .brain/jaeger in the repository)
#   JAEGER_BIN           the binary (default: under BRAIN_TOOLS_CACHE, in a directory named
#                        by a hash of tools/jaeger's go.mod and go.sum and the Go version,
#                        so it is built once per pinned version and reused by every clone)
#   BRAIN_TOOLS_CACHE    where built tools are kept (default $XDG_CACHE_HOME/brain/tools,
#                        or ~/.cache/brain/tools)
#   JAEGER_START_TRIES   readiness probes before start gives up, 0.1 s apart (default 600)
#   JAEGER_STOP_TRIES    exit checks before stop sends SIGKILL, 0.1 s apart (default 100)
#   JAEGER_QUERY_TRIES   query-session attempts until a trace is found, 0.1 s apart
#                        (default 1: no retry; spans reach storage after Jaeger's
#                        batch processor, ~200 ms, so callers that just sent may want 50)
#   JAEGER_QUERY_LIMIT   most traces query-session returns (default 1000; Jaeger's own
#                        default is 100, and every brain-run command is a trace of its own)
#   JAEGER_OTLP_GRPC_PORT, JAEGER_OTLP_HTTP_PORT
#                        its OTLP ports (default 4317, 4318); the stack (scripts/stack.sh)
#                        moves them, as its collector takes 4317 and 4318
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/proc.sh"
MODDIR="$ROOT/tools/jaeger"
TOOLS_CACHE=${BRAIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/brain/tools}
if [[ -z ${JAEGER_BIN:-} ]]; then
  key=$( (cat "$MODDIR/go.mod" "$MODDIR/go.sum"; go version 2>/dev/null) | sha256sum | cut -c1-16)
  JAEGER_BIN=$TOOLS_CACHE/jaeger-$key/jaeger
fi
BIN=$JAEGER_BIN
RUN_DIR=${JAEGER_RUN_DIR:-$ROOT/.brain/jaeger}
PIDFILE="$RUN_DIR/jaeger.pid"
LOG="$RUN_DIR/jaeger.log"
HOST=127.0.0.1
QUERY="http://$HOST:16686"
OTLP_GRPC_PORT=${JAEGER_OTLP_GRPC_PORT:-4317}
OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-4318}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

die() { echo "jaeger.sh: $*" >&2; exit 1; }

need_curl() { command -v curl >/dev/null || die "curl is required"; }

# pid of the running Jaeger from the pid file, or nothing (proc.sh).
running_pid() { pid_in "$PIDFILE" jaeger; }

api_answers() { curl -fsS --max-time 1 -o /dev/null "$QUERY/api/services" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

cmd_build() {
  command -v go >/dev/null || die "go is required to build Jaeger"
  if [[ -x $BIN ]]; then
    echo "jaeger: $BIN is built for the pinned version"
    return 0
  fi
  echo "jaeger: building $BIN (a cold build takes several minutes)..."
  mkdir -p "$(dirname "$BIN")"
  local tmp="$BIN.tmp.$$"
  # Stamp the pinned version, as Jaeger's own Makefile does, so that
  # `jaeger version` and the startup log name it.
  (
    cd "$MODDIR"
    local version
    version=$(go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)
    set -o pipefail
    go build -v -o "$tmp" \
      -ldflags="-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$version" \
      github.com/jaegertracing/jaeger/cmd/jaeger 2>&1 | bash "$ROOT/scripts/progress.sh" jaeger
  )
  mv -f "$tmp" "$BIN" # whole or not at all: a build cut short leaves no binary to reuse
  echo "jaeger: built $BIN"
}

cmd_start() {
  need_curl
  local pid
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    echo "jaeger: already running (pid $pid)"
    print_usage_hint
    return 0
  fi
  if api_answers || port_open "$OTLP_GRPC_PORT"; then
    die "something else already listens on $QUERY or $HOST:$OTLP_GRPC_PORT; not starting a second Jaeger (if it is the one 'make traces' started: make traces-stop)"
  fi
  cmd_build
  (umask 077 && mkdir -p "$RUN_DIR")
  rm -f "$LOG"
  (umask 077 && : >"$LOG")
  # The embedded all-in-one configuration takes every address from
  # JAEGER_LISTEN_HOST, except the query extension's, which default to
  # ":16686" / ":16685" (all interfaces), and the health check's gRPC
  # (default "localhost:13132"): set those explicitly.
  # enable_tracing=false: the query extension otherwise traces itself over
  # OTLP to localhost:4317 (its own receiver), adding a "jaeger" service to
  # the results and a 10 s export timeout to every shutdown, as the
  # receiver is gone by then.
  JAEGER_LISTEN_HOST=$HOST setsid nohup "$BIN" \
    "--set=extensions.jaeger_query.http.endpoint=$HOST:16686" \
    "--set=extensions.jaeger_query.grpc.endpoint=$HOST:16685" \
    "--set=extensions.healthcheckv2.grpc.endpoint=$HOST:13132" \
    "--set=extensions.jaeger_query.enable_tracing=false" \
    "--set=receivers.otlp.protocols.grpc.endpoint=$HOST:$OTLP_GRPC_PORT" \
    "--set=receivers.otlp.protocols.http.endpoint=$HOST:$OTLP_HTTP_PORT" \
    </dev/null >>"$LOG" 2>&1 &
  pid=$!
  (umask 077 && echo "$pid" >"$PIDFILE")

  local tries=${JAEGER_START_TRIES:-600} i
  for ((i = 0; i < tries; i++)); do
    if ! alive "$pid"; then
      rm -f "$PIDFILE"
      tail -n 20 "$LOG" >&2 || true
      die "Jaeger exited during startup; log: $LOG"
    fi
    # The query API comes up with the extensions, before the receivers:
    # wait for the OTLP ports too, so spans sent right after start land.
    if api_answers && port_open "$OTLP_GRPC_PORT" && port_open "$OTLP_HTTP_PORT"; then
      echo "jaeger: running (pid $pid), query API $QUERY, OTLP gRPC $HOST:$OTLP_GRPC_PORT, log $LOG"
      print_usage_hint
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$LOG" >&2 || true
  cmd_stop >&2 || true
  die "Jaeger did not become ready after $tries probes; log: $LOG"
}

print_usage_hint() {
  cat <<EOF
Point brain-run at it:
  export OTEL_EXPORTER_OTLP_ENDPOINT=localhost:$OTLP_GRPC_PORT
Find a session's trace:
  scripts/jaeger.sh query-session \$BRAIN_SESSION_ID
EOF
}

cmd_stop() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    rm -f "$PIDFILE"
    echo "jaeger: not running"
    return 0
  fi
  stop_pid jaeger "$pid" "${JAEGER_STOP_TRIES:-100}" || die "pid $pid did not exit"
  rm -f "$PIDFILE"
  echo "jaeger: stopped (pid $pid)"
}

cmd_status() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    echo "jaeger: not running"
    return 3
  fi
  if api_answers; then
    echo "jaeger: running (pid $pid), query API $QUERY answers, log $LOG"
  else
    echo "jaeger: running (pid $pid), query API $QUERY not answering, log $LOG"
  fi
}

# JSON string body: escape backslashes and double quotes.
json_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\"/\\\"}"
}

cmd_query_session() {
  need_curl
  [[ $# -ge 1 && -n $1 ]] || die "usage: jaeger.sh query-session SESSION_ID [SERVICE]"
  local id=$1 service=${2:-brain-run}
  local tags out i
  tags="{\"brain.session_id\":\"$(json_escape "$id")\"}"
  local tries=${JAEGER_QUERY_TRIES:-1}
  for ((i = 0; i < tries || i == 0; i++)); do
    ((i == 0)) || sleep 0.1
    out=$(curl -fsS --max-time 5 -G "$QUERY/api/traces" \
      --data-urlencode "service=$service" \
      --data-urlencode "limit=${JAEGER_QUERY_LIMIT:-1000}" \
      --data-urlencode "tags=$tags") || die "query failed: is Jaeger running? (scripts/jaeger.sh status)"
    [[ $out == *'"traceID"'* ]] && break
  done
  printf '%s\n' "$out"
  [[ $out == *'"traceID"'* ]] || { echo "jaeger.sh: no trace of service $service with brain.session_id=$id" >&2; return 1; }
}

cmd_selftest() {
  need_curl
  [[ -n $(running_pid) ]] || api_answers || die "Jaeger is not running (scripts/jaeger.sh start)"
  local id="selftest-$$-$RANDOM" trace
  local sendspan
  sendspan="$(dirname "$BIN")/sendspan"
  (cd "$MODDIR" && go build -o "$sendspan" ./sendspan)
  trace=$("$sendspan" -endpoint "$HOST:$OTLP_GRPC_PORT" -session "$id")
  echo "sent span: trace $trace, brain.session_id=$id"
  local out
  out=$(JAEGER_QUERY_TRIES=${JAEGER_QUERY_TRIES:-50} cmd_query_session "$id") || die "the span did not arrive"
  [[ $out == *"\"traceID\":\"$trace\""* ]] || die "found a trace, but not $trace: $out"
  echo "jaeger: selftest passed, trace $trace found by brain.session_id"
}

case ${1:-} in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  query-session) shift; cmd_query_session "$@" ;;
  selftest) cmd_selftest ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
