#!/usr/bin/env bash
# deps.sh [PACKAGE...]: install the Debian packages the tests use beyond Go
# (default: the shells whose completion scripts the tests load, the
# chromium and fonts that make e2e-report and make screenshots drive, and
# prometheus, whose promtool checks deploy/prometheus and which the
# observability stack runs), when they are missing. It needs root (or
# sudo) and Debian's apt; where neither is available it says what is
# missing and exits 0, and the tests that need a package skip with a
# message saying so.
set -euo pipefail
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(zsh fish chromium fonts-dejavu-core prometheus)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || { echo "deps: ${pkgs[*]}: installed"; exit 0; }
sudo=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo: not installing ${missing[*]}" >&2; exit 0; }
  sudo=(sudo)
fi
command -v apt-get >/dev/null || { echo "deps: no apt-get: not installing ${missing[*]}" >&2; exit 0; }
echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
