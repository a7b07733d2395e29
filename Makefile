# tradingbot-operator — kubebuilder-style targets. `make help` lists them.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# ---------------------------------------------------------------------------------------------------------
# Node: the project targets Node 24 LTS. When the system node is older than 22.19, a pinned Node 24 from the
# npm registry (package node-linux-<arch>) is unpacked into .tools/ and put first on PATH for every target.
NODE_VERSION ?= 24.21.0
TOOLS_DIR := $(CURDIR)/.tools
SYSTEM_NODE_OK := $(shell node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' >/dev/null 2>&1 && echo yes)
ifneq ($(SYSTEM_NODE_OK),yes)
NODE_HOME := $(TOOLS_DIR)/node-v$(NODE_VERSION)
NODE_BIN := $(NODE_HOME)/bin/node
export PATH := $(NODE_HOME)/bin:$(PATH)
endif
NODE_ARCH := $(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')

DEPS_STAMP := node_modules/.deps-installed

# Control-plane binaries (kube-apiserver, etcd, kwok, helm, ...) are built from Go modules and cached
# outside the work tree, keyed by version, so clean clones reuse them.
export TRADINGBOT_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tradingbot-operator
export KUBECONFIG_LOCAL := $(CURDIR)/.local/cluster/kubeconfig

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z0-9_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: deps
deps: $(DEPS_STAMP) ## Install Node (when the system one is too old) and the npm dependencies.

$(NODE_BIN):
	@echo "system node is older than 22.19: installing node-linux-$(NODE_ARCH)@$(NODE_VERSION) from the npm registry into .tools/"
	@rm -rf "$(NODE_HOME).tmp" && mkdir -p "$(NODE_HOME).tmp"
	@cd "$(NODE_HOME).tmp" && npm pack --silent "node-linux-$(NODE_ARCH)@$(NODE_VERSION)" >/dev/null \
	  && tar xzf node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz --strip-components=1 \
	  && rm node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz
	@rm -rf "$(NODE_HOME)" && mv "$(NODE_HOME).tmp" "$(NODE_HOME)"
	@"$(NODE_BIN)" --version

# ccxt's postinstall reaches the network, so install scripts stay off.
$(DEPS_STAMP): package-lock.json $(NODE_BIN)
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

.PHONY: build
build: deps ## Bundle each program into dist/ (build/bundle.ts; the runtime's SQL migrations beside it) and type-check.
	npm run --silent build

.PHONY: lint
lint: deps ## Lint and format-check (Biome) and type-check everything, tests included.
	npx biome ci .
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p console/web/tsconfig.json

.PHONY: crds
crds: deps ## Generate crds/, docs/api.md tables and the chart's generated files from their TypeScript sources.
	node api/crdgen/main.ts
	node operator/ops/rbac-gen.ts
	node charts/generate.ts

.PHONY: crds-check
crds-check: deps ## Fail when a generated file (crds/, docs/api.md, chart files, config/) is out of date.
	node api/crdgen/main.ts --check
	node operator/ops/rbac-gen.ts --check
	node charts/generate.ts --check

.PHONY: rbac
rbac: deps ## Generate config/rbac/ from the operator's rule list (operator/ops/rbac-rules.ts).
	node operator/ops/rbac-gen.ts

.PHONY: fmt
fmt: deps ## Format the code in place.
	npx biome check --write .

##@ Deployment

.PHONY: install
install: deps ## Install the CRDs, the operator's RBAC, and the roles for people with their admission policies (as the chart does) into the cluster of the current KUBECONFIG.
	kubectl apply --server-side --force-conflicts -f crds/
	kubectl wait --for=condition=Established --timeout=60s -f crds/
	kubectl create namespace tradingbot-system --dry-run=client -o yaml | kubectl apply -f -
	kubectl apply --server-side -k config/rbac/
	kubectl apply --server-side -k config/access/

.PHONY: uninstall
uninstall: deps ## Remove the operator's RBAC, the access objects and the CRDs (and with them every TradingBot and KillSwitch).
	kubectl delete --ignore-not-found -k config/access/
	kubectl delete --ignore-not-found -k config/rbac/
	kubectl delete --ignore-not-found -f crds/

.PHONY: run
run: build ## Run the built operator against the current KUBECONFIG (as that user, without leader election).
	node --max-semi-space-size=2 dist/operator/main.js --leader-elect=false $(ARGS)

##@ Demo

.PHONY: demo
demo: build cluster-binaries postgres-server ## Run the whole loop locally with the paper samples and show the fleet live (DEMO=tour: a scripted, narrated tour that exits).
	node demo/main.ts $(if $(filter tour,$(DEMO)),--tour,)

##@ Testing

.PHONY: test
test: deps build lint crds-check cluster-binaries postgres-server browser ## Run every check and test suite (what CI runs).
	npx vitest run

.PHONY: test-unit
test-unit: deps ## Run only the unit tests (no control plane, no database).
	npx vitest run --project unit

.PHONY: bench
bench: build cluster-binaries postgres-server ## Run the benchmarks of bench/README.md (ARGS="--quick", "--only 1,3", "--size 1000").
	node bench/run.ts $(ARGS)

##@ Local control plane

.PHONY: cluster-binaries
cluster-binaries: ## Build (once, cached) etcd, kube-*, kubectl, kwok, helm and the real node's kubelet, containerd, runc, CNI plugins from their Go modules.
	test/cluster/build-binaries.sh

.PHONY: cluster-up
cluster-up: deps cluster-binaries ## Start etcd, kube-apiserver, controller-manager, scheduler and KWOK on loopback (NODE=real: and a real node, see docs/real-node.md).
	node test/cluster/cli.ts up $(if $(filter real,$(NODE)),--real-node,)

.PHONY: cluster-down
cluster-down: deps ## Stop the local control plane and everything it started.
	node test/cluster/cli.ts down

.PHONY: cluster-status
cluster-status: deps ## Tell whether the local control plane is up, and how to use it.
	node test/cluster/cli.ts status

.PHONY: browser
browser: ## Install Debian's Chromium when it is missing (the console's browser tests drive it with playwright-core).
	test/console/browser/ensure-chromium.sh

.PHONY: postgres-server
postgres-server: ## Install Debian's PostgreSQL server when it is missing (used by the tests and the demo).
	test/postgres/ensure-installed.sh

##@ Packaging

IMAGE ?= ghcr.io/botops/tradingbot-operator:$(shell node -p 'require("./package.json").version' 2>/dev/null)

.PHONY: image
image: ## Build the container image (needs a Docker engine).
	docker build -t $(IMAGE) \
	  --build-arg VERSION=$$(node -p 'require("./package.json").version') \
	  --build-arg REVISION=$$(git rev-parse HEAD) \
	  --build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) .

.PHONY: image-oci
image-oci: build cluster-binaries ## Build the same image without a container engine (umoci): dist/image/tradingbot-operator-oci.tar, an OCI archive.
	node image/oci.ts --archive dist/image/tradingbot-operator-oci.tar

.PHONY: e2e-kind
e2e-kind: deps ## End-to-end scenarios on a kind cluster with real kubelets (needs Docker and kind).
	test/e2e-kind/run.sh

##@ Cleanup

.PHONY: clean
clean: cluster-down ## Stop the local control plane, remove build output and local state (the binary cache outside the tree is kept).
	rm -rf dist .local
