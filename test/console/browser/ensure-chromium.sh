#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (/usr/bin/chromium), from Debian's packages when missing: the
# console's browser tests drive it with playwright-core, which never downloads a browser of its own.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "Chromium found: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

command -v apt-get >/dev/null || {
  echo "ensure-chromium: no /usr/bin/chromium and no apt-get to install it; install Chromium so that" \
    "/usr/bin/chromium runs, or set CHROMIUM_PATH to a Chromium or Chrome binary" >&2
  exit 1
}
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "ensure-chromium: installing Chromium needs root or sudo" >&2; exit 1; }
  as_root=(sudo)
fi

echo "installing Debian's chromium package (for the console's browser tests)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "Chromium installed: $(/usr/bin/chromium --version)"
