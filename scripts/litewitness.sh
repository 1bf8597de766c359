#!/usr/bin/env bash
# litewitness and witnessctl (filippo.io/torchwood, pinned in tools/litewitness),
# the real C2SP tlog-witness that the witness end-to-end test cosigns with.
#
#   scripts/litewitness.sh build   build both if there are none for the pinned version
#   scripts/litewitness.sh dir     print the directory that holds them (after build)
#
# Environment:
#   LITEWITNESS_DIR      the directory of the binaries (default: under BRAIN_TOOLS_CACHE,
#                        named by a hash of tools/litewitness's go.mod and go.sum and the
#                        Go version, so they are built once per pinned version and reused
#                        by every clone)
#   BRAIN_TOOLS_CACHE    where built tools are kept (default $XDG_CACHE_HOME/brain/tools,
#                        or ~/.cache/brain/tools)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="$ROOT/tools/litewitness"
TOOLS_CACHE=${BRAIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/brain/tools}
if [[ -z ${LITEWITNESS_DIR:-} ]]; then
  key=$( (cat "$MODDIR/go.mod" "$MODDIR/go.sum"; go version 2>/dev/null) | sha256sum | cut -c1-16)
  LITEWITNESS_DIR=$TOOLS_CACHE/litewitness-$key
fi

die() { echo "litewitness.sh: $*" >&2; exit 1; }

cmd_build() {
  command -v go >/dev/null || die "go is required to build litewitness"
  if [[ -x $LITEWITNESS_DIR/litewitness && -x $LITEWITNESS_DIR/witnessctl ]]; then
    echo "litewitness: $LITEWITNESS_DIR holds the pinned version"
    return 0
  fi
  echo "litewitness: building litewitness and witnessctl into $LITEWITNESS_DIR (about a minute cold)..."
  mkdir -p "$(dirname "$LITEWITNESS_DIR")"
  local tmp="$LITEWITNESS_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (
    cd "$MODDIR"
    CGO_ENABLED=0 go build -o "$tmp/" filippo.io/torchwood/cmd/litewitness filippo.io/torchwood/cmd/witnessctl
  )
  rm -rf "$LITEWITNESS_DIR"
  mv "$tmp" "$LITEWITNESS_DIR" # whole or not at all: a build cut short leaves nothing to reuse
  echo "litewitness: built $LITEWITNESS_DIR"
}

case ${1:-} in
  build) cmd_build ;;
  dir) echo "$LITEWITNESS_DIR" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
