#!/usr/bin/env bash
# Builds the local control plane and the real node from Go modules with the machine's Go toolchain:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet and kube-proxy (Kubernetes), etcd, the
# KWOK controller and Helm; containerd, runc, the CNI plugins, crictl, umoci and kube-router for the real node, at the
# versions pinned in versions.env. Each project lands in $TRADINGBOT_CACHE_DIR/bin/<name>-<version>/, moved
# into place only when complete, so an interrupted build never leaves half a binary; a warm run only checks
# that the files listed in `wanted` exist, so a binary added to a project later is built on its own.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_dir="${TRADINGBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tradingbot-operator}"
bin_root="$cache_dir/bin"
kubernetes_commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
cni_plugins=(bridge host-local loopback portmap)
# Every file a complete cache holds, as <name>-<version>/<file>.
wanted=(
  "${kubernetes_commands[@]/#/kubernetes-$KUBERNETES_VERSION/}"
  "etcd-$ETCD_VERSION/etcd"
  "kwok-$KWOK_VERSION/kwok"
  "helm-$HELM_VERSION/helm"
  "kube-score-$KUBE_SCORE_VERSION/kube-score"
  "prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION/monitoring.coreos.com_servicemonitors.yaml"
  "containerd-$CONTAINERD_VERSION/containerd" "containerd-$CONTAINERD_VERSION/containerd-shim-runc-v2"
  "containerd-$CONTAINERD_VERSION/ctr"
  "runc-$RUNC_VERSION/runc"
  "${cni_plugins[@]/#/cni-plugins-$CNI_PLUGINS_VERSION/}"
  "cri-tools-$CRI_TOOLS_VERSION/crictl"
  "umoci-$UMOCI_VERSION/umoci"
  "kube-router-$KUBE_ROUTER_VERSION/kube-router"
)

# missing NAME-VERSION: the wanted files of that project not in the cache yet, one per line.
missing() {
  local file
  for file in "${wanted[@]}"; do
    if [[ "$file" == "$1/"* && ! -e "$bin_root/$file" ]]; then echo "${file#"$1/"}"; fi
  done
}
cached() { [[ -z "$(missing "$1")" ]]; }
all_cached() {
  local file
  for file in "${wanted[@]}"; do [[ -e "$bin_root/$file" ]] || return 1; done
}

# The Debian packages the real node builds and runs with (runc's libseccomp, iptables, ...).
"$here/ensure-node-packages.sh"

if all_cached; then
  echo "control-plane and node binaries are cached in $bin_root"
  exit 0
fi

command -v go >/dev/null || { echo "build-binaries: Go is required on PATH (Go 1.26 or newer)" >&2; exit 1; }

# Static binaries, no workspace or vendoring from the caller's environment, no VCS stamping (module sources
# are not repositories). Every pinned module declares `go 1.26.0`; an older local Go fetches that toolchain
# through the module proxy.
export CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false -trimpath"
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if (( go_minor < 26 )); then
  export GOTOOLCHAIN=go1.26.8
  echo "build-binaries: local $(go env GOVERSION) is older than go1.26: using GOTOOLCHAIN=$GOTOOLCHAIN"
fi

mkdir -p "$bin_root"
exec 9>"$bin_root/.build.lock"
if ! flock -n 9; then
  echo "build-binaries: another build holds $bin_root/.build.lock, waiting for it"
  flock 9
fi
all_cached && { echo "control-plane and node binaries were built meanwhile in $bin_root"; exit 0; }
# Staged folders are named .staged-<name>-<pid>: remove those whose builder is gone (an interrupted build).
for staged in "$bin_root"/.staged-*; do
  [[ -e "$staged" ]] || continue
  kill -0 "${staged##*-}" 2>/dev/null || rm -rf "$staged"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/tradingbot-build.XXXXXX")"
ticker="" # the progress printer of the running step
cleanup() {
  if [[ -n "$ticker" ]]; then kill "$ticker" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
started=$SECONDS
echo "building control-plane and node binaries from Go modules with $(go env GOVERSION) into $bin_root"
echo "(a cold build takes about 35 minutes on an idle 2-core machine; later runs reuse the cache)"

# run_step LABEL COMMAND...: runs a build command with its output in a log, printing a line every 30 s with
# the modules downloaded and packages compiled so far (go build -v prints one line per package), and the log
# tail on failure.
run_step() {
  local label="$1" log="$work/step.log" step_start=$SECONDS
  shift
  echo "==> $label"
  : >"$log"
  (
    trap 'kill $! 2>/dev/null; exit 0' TERM
    while kill -0 "$$" 2>/dev/null; do
      sleep 30 &
      wait $!
      echo "    ... $label: $((SECONDS - step_start)) s, $(grep -c '^go: downloading' "$log" 2>/dev/null || true) modules downloaded," \
        "$(grep -vc '^go: ' "$log" 2>/dev/null || true) packages compiled"
    done
  ) &
  ticker=$!
  if ! "$@" >"$log" 2>&1; then
    kill "$ticker" 2>/dev/null || true
    echo "build-binaries: $label failed; last lines of its output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  ticker=""
  echo "    done in $((SECONDS - step_start)) s"
}

in_dir() { (cd "$1" && shift && "$@"); }

# install_dir NAME-VERSION STAGED_DIR: moves a completed build into the cache in one rename; into a folder that
# exists already (binaries added to a project), each file in one rename, so binaries in use stay in place.
install_dir() {
  local target="$bin_root/$1" file
  if [[ -d "$target" ]]; then
    for file in "$2"/*; do mv -fT "$file" "$target/${file##*/}"; done
    rmdir "$2"
  else
    mv -T "$2" "$target"
  fi
  echo "    installed $(ls "$target" | tr '\n' ' ')-> $target"
}

# wrapper_module MODULE@VERSION LOCAL_VERSION NAME DIR TOOL...: a module that requires MODULE@VERSION with
# every local-path replace of its go.mod turned into the published module at LOCAL_VERSION (generated, see
# wrapper-module/main.go), and the commands to build as tool lines; then `go mod tidy` pins the rest.
wrapper_module() {
  local require="$1" local_version="$2" name="$3" dir="$4"
  shift 4
  local tools=()
  for t in "$@"; do tools+=(-tool "$t"); done
  mkdir -p "$dir"
  (cd "$dir" && go run "$here/wrapper-module/main.go" -require "$require" -local-version "$local_version" \
    -name "$name" -out "$dir" "${tools[@]}" && go mod tidy)
}

# Builds only the commands missing from the cache: kubelet and kube-proxy join a cached control plane without
# rebuilding it.
build_kubernetes() {
  local version="$KUBERNETES_VERSION" dir="$work/kubernetes" staged="$bin_root/.staged-kubernetes-$$"
  local minor="${version#v1.}"
  minor="${minor%%.*}"
  local cmds pkgs=() ldflags="-s -w" key
  mapfile -t cmds < <(missing "kubernetes-$version")
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  # The same version variables as Kubernetes' hack/lib/version.sh sets, in both packages that carry them.
  # The module source has no git metadata, so gitCommit stays unset.
  for key in gitVersion=$version gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=$build_date; do
    ldflags+=" -X k8s.io/component-base/version.$key -X k8s.io/client-go/pkg/version.$key"
  done
  run_step "kubernetes $version: wrapper module (staging modules at v0.$minor.${version##*.})" \
    wrapper_module "k8s.io/kubernetes@$version" "v0.${version#v1.}" kubernetes "$dir" "${pkgs[@]}"
  rm -rf "$staged" && mkdir -p "$staged"
  run_step "kubernetes $version: go build ${cmds[*]}" \
    in_dir "$dir" go build -v -ldflags "$ldflags" -o "$staged/" "${pkgs[@]}"
  install_dir "kubernetes-$version" "$staged"
}

build_etcd() {
  local version="$ETCD_VERSION" dir="$work/etcd" staged="$bin_root/.staged-etcd-$$"
  # Since etcd 3.5 the `etcd` main package is the root of the server module.
  run_step "etcd $version: wrapper module" \
    wrapper_module "go.etcd.io/etcd/server/v3@$version" "$version" etcd "$dir" go.etcd.io/etcd/server/v3
  rm -rf "$staged" && mkdir -p "$staged"
  run_step "etcd $version: go build etcd" \
    in_dir "$dir" go build -v -ldflags "-s -w" -o "$staged/etcd" go.etcd.io/etcd/server/v3
  install_dir "etcd-$version" "$staged"
}

# go_install NAME VERSION LDFLAGS PACKAGE...: for modules without replace lines, `go install pkg@version`.
go_install() {
  local name="$1" version="$2" ldflags="$3" staged="$bin_root/.staged-$1-$$"
  shift 3
  rm -rf "$staged" && mkdir -p "$staged"
  run_step "$name $version: go install ${*/%/@$version}" \
    env GOBIN="$staged" go install -v -ldflags "$ldflags" "${@/%/@$version}"
  if [[ "$name" == kwok ]]; then copy_kwok_stages "$version" "$staged/stages"; fi
  install_dir "$name-$version" "$staged"
}

# The kwok binary has no built-in stages (kwokctl writes them into its config): take KWOK's default node
# (initialize, heartbeat with lease) and pod (ready, complete, delete) stages from the same release.
copy_kwok_stages() {
  local src
  src="$(go mod download -json "sigs.k8s.io/kwok@$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/kustomize/stage"
  mkdir -p "$2"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$2/"
}

cached "kubernetes-$KUBERNETES_VERSION" || build_kubernetes
cached "etcd-$ETCD_VERSION" || build_etcd
cached "kwok-$KWOK_VERSION" ||
  go_install kwok "$KWOK_VERSION" \
    "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION#v}" \
    sigs.k8s.io/kwok/cmd/kwok
cached "helm-$HELM_VERSION" ||
  go_install helm "$HELM_VERSION" \
    "-s -w -X helm.sh/helm/${HELM_VERSION%%.*}/internal/version.version=$HELM_VERSION -X helm.sh/helm/${HELM_VERSION%%.*}/internal/version.gitTreeState=clean" \
    "helm.sh/helm/${HELM_VERSION%%.*}/cmd/helm"

# The Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs, from its Go module: the chart's
# tests install its monitoring objects against them.
copy_prometheus_operator_crds() {
  local version="$PROMETHEUS_OPERATOR_VERSION" staged="$bin_root/.staged-prometheus-operator-crds-$$" src
  src="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/example/prometheus-operator-crd"
  rm -rf "$staged" && mkdir -p "$staged"
  cp "$src"/monitoring.coreos.com_{servicemonitors,podmonitors,prometheusrules}.yaml "$staged/"
  chmod 0644 "$staged"/*.yaml
  install_dir "prometheus-operator-crds-$version" "$staged"
}
cached "kube-score-$KUBE_SCORE_VERSION" ||
  go_install kube-score "$KUBE_SCORE_VERSION" "-s -w -X main.version=${KUBE_SCORE_VERSION#v} -X main.date=$build_date" \
    github.com/zegl/kube-score/cmd/kube-score
cached "prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION" || copy_prometheus_operator_crds

# The real node. containerd and its runc shim are static without cgo (the btrfs snapshotter, which needs cgo,
# is left out; the node uses overlayfs).
cached "containerd-$CONTAINERD_VERSION" ||
  go_install containerd "$CONTAINERD_VERSION" \
    "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2" \
    github.com/containerd/containerd/v2/cmd/{containerd,containerd-shim-runc-v2,ctr}
cached "cni-plugins-$CNI_PLUGINS_VERSION" ||
  go_install cni-plugins "$CNI_PLUGINS_VERSION" \
    "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    github.com/containernetworking/plugins/plugins/{main/bridge,ipam/host-local,main/loopback,meta/portmap}
cached "cri-tools-$CRI_TOOLS_VERSION" ||
  go_install cri-tools "$CRI_TOOLS_VERSION" "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
    sigs.k8s.io/cri-tools/cmd/crictl

# kube-router enforces NetworkPolicy on the real node (its firewall controller only). Its go.mod has no replace
# lines; it execs iptables and ipset, as the node does.
cached "kube-router-$KUBE_ROUTER_VERSION" ||
  go_install kube-router "$KUBE_ROUTER_VERSION" \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=$build_date" \
    "github.com/cloudnativelabs/kube-router/${KUBE_ROUTER_VERSION%%.*}/cmd/kube-router"

# build_in_module NAME VERSION MODULE LDFLAGS PACKAGE...: `go build` inside a copy of the module's source, for
# modules whose go.mod has replace lines (which `go install pkg@version` refuses) or that need cgo.
build_in_module() {
  local name="$1" version="$2" module="$3" ldflags="$4" staged="$bin_root/.staged-$1-$$" src
  shift 4
  src="$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  rm -rf "${work:?}/$name" && cp -r "$src" "$work/$name" && chmod -R u+w "$work/$name"
  rm -rf "$staged" && mkdir -p "$staged"
  run_step "$name $version: go build $*" in_dir "$work/$name" go build -v "${go_build_flags[@]}" -ldflags "$ldflags" -o "$staged/" "$@"
  install_dir "$name-$version" "$staged"
}

# runc needs cgo (its nsenter is C) and links libseccomp (Debian's libseccomp-dev) statically for seccomp
# profiles. The libpathrs tag of its Makefile is left out: that library is Rust, the Go fallback is built in.
if ! cached "runc-$RUNC_VERSION"; then
  pkg-config --exists libseccomp 2>/dev/null ||
    { echo "build-binaries: runc needs libseccomp: apt-get install libseccomp-dev pkg-config gcc" >&2; exit 1; }
  go_build_flags=(-tags "seccomp urfave_cli_no_docs netgo osusergo")
  CGO_ENABLED=1 build_in_module runc "$RUNC_VERSION" github.com/opencontainers/runc "-s -w -extldflags -static" .
fi
if ! cached "umoci-$UMOCI_VERSION"; then
  go_build_flags=()
  build_in_module umoci "$UMOCI_VERSION" github.com/opencontainers/umoci \
    "-s -w" ./cmd/umoci
fi

echo "control-plane and node binaries built in $((SECONDS - started)) s, cached in $bin_root"
