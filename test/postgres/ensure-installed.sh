#!/usr/bin/env bash
# Makes sure a PostgreSQL server (initdb and postgres under /usr/lib/postgresql/<version>/bin) and openssl
# are installed, from Debian's packages when missing. The tests start their own server in a temporary folder,
# so the package is told not to create and start its default cluster.
set -euo pipefail

newest_bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]] && echo "$dir"
}

if dir="$(newest_bin_dir)" && command -v openssl >/dev/null; then
  echo "PostgreSQL server found: $("$dir/postgres" --version) in $dir"
  exit 0
fi

command -v apt-get >/dev/null || {
  echo "ensure-installed: no PostgreSQL server under /usr/lib/postgresql and no apt-get to install one;" \
    "install PostgreSQL 14 or newer (initdb, postgres) so that /usr/lib/postgresql/<version>/bin holds them" >&2
  exit 1
}
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "ensure-installed: installing PostgreSQL needs root or sudo" >&2; exit 1; }
  as_root=(sudo)
fi

echo "installing Debian's postgresql package (server for the test harness)"
"${as_root[@]}" mkdir -p /etc/postgresql-common
if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
  echo "create_main_cluster = false" | "${as_root[@]}" tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends postgresql openssl >/dev/null

dir="$(newest_bin_dir)" || { echo "ensure-installed: postgresql installed but no server binaries found" >&2; exit 1; }
echo "PostgreSQL server installed: $("$dir/postgres" --version) in $dir"
