#!/usr/bin/env bash
# Makes sure the Debian packages the real node needs are installed: libseccomp-dev and pkg-config to build
# runc with seccomp, gcc and libc6-dev to compile the pause image, iptables and conntrack for kube-proxy
# and the CNI bridge and portmap plugins, ipset for kube-router's NetworkPolicy firewall.
set -euo pipefail

missing=()
pkg-config --exists libseccomp 2>/dev/null || missing+=(libseccomp-dev pkg-config)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
command -v iptables >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
command -v ipset >/dev/null || missing+=(ipset)
if ((${#missing[@]} == 0)); then
  exit 0
fi

command -v apt-get >/dev/null || {
  echo "ensure-node-packages: missing ${missing[*]} and no apt-get to install them; install them to build" \
    "and run the real node (docs/real-node.md)" >&2
  exit 1
}
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "ensure-node-packages: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
  as_root=(sudo)
fi

echo "installing Debian packages for the real node: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
