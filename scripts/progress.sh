#!/usr/bin/env bash
# progress.sh LABEL: reads `go build -v` output (one package per line) on
# stdin and prints a line every PROGRESS_EVERY seconds (default 20) while
# packages are being compiled, so that a cold build that takes minutes does
# not look stuck; warm builds, which compile nothing, stay quiet.
set -uo pipefail
label=${1:-build}
every=${PROGRESS_EVERY:-20}
n=0
start=$SECONDS
last=$SECONDS
while true; do
  if IFS= read -r -t 1 line; then
    case $line in
      "#"* | *" "*) printf '%s\n' "$line" >&2 ;; # diagnostics pass through (an import path has no space)
      *) n=$((n + 1)) ;;
    esac
  elif (($? <= 128)); then
    break # end of input (a timeout returns more than 128)
  fi
  if ((n > 0 && SECONDS - last >= every)); then
    printf '%s: still compiling: %d packages done, %d s so far\n' "$label" "$n" $((SECONDS - start)) >&2
    last=$SECONDS
  fi
done
if ((n > 0)); then
  printf '%s: compiled %d packages in %d s\n' "$label" "$n" $((SECONDS - start)) >&2
fi
