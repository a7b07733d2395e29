#!/usr/bin/env bash
# `make e2e-kind`: the end-to-end scenarios on a kind cluster, with real kubelets running real containers.
#   1. create a kind cluster            4. deploy PostgreSQL and the exchange simulator, migrate the schema
#   2. build the image, load it         5. run test/e2e-kind/scenarios.e2e.ts (apply, trade, halt, fleet halt,
#   3. helm install the chart              risk latch)
#                                       6. delete the cluster (E2E_KEEP_CLUSTER=true keeps it for a look)
# Needs Docker (a running daemon), kind, kubectl and helm; Node 24 and the npm dependencies (`make deps`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${E2E_KIND_CLUSTER:-tradingbot-e2e}"
keep="${E2E_KEEP_CLUSTER:-false}"
image="tradingbot-operator:e2e" # the name test/e2e-kind/manifests/infra.yaml and the chart values below use
diagnostics="$root/.local/e2e-kind"

fail() {
  echo "e2e-kind: $*" >&2
  exit 2
}

# kubectl and helm at the project's pinned versions when `make cluster-binaries` has built them.
source "$root/test/cluster/versions.env"
bin_root="${TRADINGBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tradingbot-operator}/bin"
for dir in "$bin_root/kubernetes-$KUBERNETES_VERSION" "$bin_root/helm-$HELM_VERSION"; do
  if [[ -d "$dir" ]]; then PATH="$dir:$PATH"; fi
done

command -v docker >/dev/null || fail "docker is not installed: this test builds the image and runs kind, both need Docker"
docker info >/dev/null 2>&1 || fail "docker is installed but no Docker daemon answers (\`docker info\` fails): start one"
command -v kind >/dev/null || fail "kind is not installed: go install sigs.k8s.io/kind@latest (v0.24 or newer)"
command -v kubectl >/dev/null || fail "kubectl is not installed: run \`make cluster-binaries\` or install kubectl"
command -v helm >/dev/null || fail "helm is not installed: run \`make cluster-binaries\` or install helm"
command -v node >/dev/null || fail "node is not on PATH: run \`make deps\`"
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  fail "a kind cluster named $cluster exists already: delete it (kind delete cluster --name $cluster) or set E2E_KIND_CLUSTER"
fi

mkdir -p "$diagnostics"
kubeconfig="$diagnostics/kubeconfig"
export KUBECONFIG="$kubeconfig"

finish() {
  local status=$?
  if [[ $status -ne 0 ]] && [[ -f "$kubeconfig" ]]; then
    echo "e2e-kind: failed; cluster state in $diagnostics/"
    kubectl get all,tradingbots,killswitches,networkpolicies -A -o wide >"$diagnostics/objects.txt" 2>&1 || true
    kubectl logs -n tradingbot-system -l app.kubernetes.io/name=tradingbot-operator --all-containers --tail=-1 \
      >"$diagnostics/operator.log" 2>&1 || true
    kubectl get events -A --sort-by=.lastTimestamp >"$diagnostics/events.txt" 2>&1 || true
  fi
  if [[ "$keep" == true ]]; then
    echo "e2e-kind: kept cluster $cluster (KUBECONFIG=$kubeconfig); delete it with: kind delete cluster --name $cluster"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap finish EXIT

echo "==> kind cluster $cluster"
kind create cluster --name "$cluster" --config "$here/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 180s

echo "==> image $image"
version="$(node -p 'require(process.argv[1]).version' "$root/package.json")"
docker build --tag "$image" --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$root"
kind load docker-image "$image" --name "$cluster"

echo "==> PostgreSQL, the exchange simulator, the schema"
kubectl apply -f "$here/manifests/infra.yaml"
kubectl -n e2e-infra rollout status deployment/postgres --timeout=300s
kubectl -n e2e-infra rollout status deployment/exchange-sim --timeout=300s
kubectl -n e2e-infra wait --for=condition=Complete job/migrate --timeout=300s

echo "==> helm install"
kubectl create namespace tradingbot-system
kubectl label namespace tradingbot-system pod-security.kubernetes.io/enforce=restricted
# Faster status mirroring than the defaults, so the scenarios see the runtime's reports within seconds.
helm install tradingbot-operator "$root/charts/tradingbot-operator" --namespace tradingbot-system \
  --set image.repository=tradingbot-operator --set image.tag=e2e --set image.pullPolicy=Never \
  --set operator.runtimePollInterval=2s --set operator.runtimeMirrorInterval=2s \
  --wait --timeout 5m

echo "==> scenarios"
cd "$root"
npx vitest run --config test/e2e-kind/vitest.config.ts
