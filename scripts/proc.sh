# proc.sh: the process helpers of scripts/jaeger.sh and scripts/stack.sh,
# which source it. Each started program has a pid file; a process is
# signalled only if it is alive and still runs the program its pid file
# was written for.

# alive PID: alive and not a zombie. Once its starting shell has exited, a
# background program's parent is whatever reaps orphans here, which may
# take a while; a zombie has exited.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# pid_in FILE EXE: the pid in FILE if that process is alive and runs a
# program whose name starts with EXE; nothing otherwise (a stale pid file,
# or a pid reused by another program, is not running).
pid_in() {
  [[ -f $1 ]] || return 0
  local pid exe
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  alive "$pid" || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ -z $exe || ${exe##*/} == "$2"* ]] || return 0
  echo "$pid"
}

# stop_pid NAME PID TRIES: SIGTERM, up to TRIES exit checks 0.1 s apart,
# then SIGKILL and up to 50 more; fails if PID still lives.
stop_pid() {
  local name=$1 pid=$2 tries=$3 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < tries; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  echo "$name: pid $pid still alive after SIGTERM, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}
