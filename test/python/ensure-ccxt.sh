#!/usr/bin/env bash
# Makes sure a Python virtual environment with the packages of requirements.txt (ccxt from PyPI) exists under
# .tools/, and prints the path of its interpreter as the last line of stdout. The environment is named after
# the requirements and the Python version, so a new pin or interpreter gets a fresh one; concurrent runs wait
# for each other. PYTHON picks the interpreter (default python3; ccxt needs 3.10 or newer).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$(cd "$here/../.." && pwd)/.tools"
python="${PYTHON:-python3}"
requirements="$here/requirements.txt"

command -v "$python" >/dev/null || {
  echo "ensure-ccxt: $python not found; install Python 3.10 or newer, or set PYTHON to one" >&2
  exit 1
}
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || {
  echo "ensure-ccxt: ccxt needs Python 3.10 or newer, $python is $version; set PYTHON to a newer one" >&2
  exit 1
}

key="$({ echo "$version"; cat "$requirements"; } | sha256sum | cut -c1-12)"
venv="$tools/python-ccxt-$key"
mkdir -p "$tools"
exec 9>"$tools/python-ccxt.lock"
flock 9

if [[ ! -f "$venv/.complete" ]]; then
  echo "ensure-ccxt: installing $(grep '^ccxt==' "$requirements") from PyPI into $venv (Python $version)" >&2
  # Environments of earlier pins or interpreters, and a half-made one of an interrupted run.
  rm -rf "$tools"/python-ccxt-*/
  "$python" -m venv "$venv" >&2 || {
    echo "ensure-ccxt: '$python -m venv' failed; on Debian or Ubuntu install the python3-venv package" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    -r "$requirements" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
