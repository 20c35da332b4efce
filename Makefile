# Every target runs with a Node >= 22 first on PATH (hack/node.sh installs Node 24
# into .tools/ when the machine's own Node is older).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
NODE_BIN := $(shell hack/node.sh)
ifeq ($(NODE_BIN),)
$(error hack/node.sh could not provide Node >= 22; see the message above)
endif
export PATH := $(NODE_BIN):$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## install the locked npm dependencies

.PHONY: tools
tools: ## build the control-plane binaries (cached outside the repo)
	hack/build-tools.sh etcd kwok helm kubernetes >/dev/null

.PHONY: up
up: deps tools build ## the local control plane, Docker, the images, the chart, the operator and a live demo
	hack/up.sh

.PHONY: down
down: ## stop what `make up` started
	hack/down.sh

.PHONY: generate
generate: deps ## regenerate crds/ and docs/api.md from the zod schemas in operator/src/api
	node hack/generate.ts

.PHONY: build
build: deps ## compile TypeScript into dist/
	npm run build

.PHONY: lint
lint: deps ## eslint (type-aware) and prettier --check (the formatting `make format` writes)
	npm run lint

.PHONY: format
format: deps ## format the TypeScript, JavaScript and hand-written JSON with prettier (.prettierrc.json, .prettierignore)
	npm run format

.PHONY: typecheck
typecheck: deps ## tsc --noEmit over every TypeScript file
	npm run typecheck

.PHONY: test-unit
test-unit: deps ## unit tests: pure logic, no cluster
	npm test

.PHONY: test-integration
test-integration: deps tools ## integration tests against a real kube-apiserver and Docker engine
	hack/build-tools.sh etcdctl >/dev/null
	npm run test:integration

.PHONY: test-covered
test-covered: deps tools ## unit, integration and disruptive tests in one run, with their merged coverage and its floor (make test)
	hack/build-tools.sh etcdctl >/dev/null
	npm run test:covered

.PHONY: dr-drill
dr-drill: deps tools ## disaster-recovery drill: etcd snapshot mid-work, plane destroyed and restored (AGENTS=5 TASKS=40; docs/operations.md)
	hack/dr-drill.sh $(or $(AGENTS),5) $(or $(TASKS),40)

.PHONY: e2e
e2e: build tools ## e2e: the Helm chart installed on the local control plane, the operator under its ServiceAccount
	hack/build-tools.sh promtool kube-score kubeconform >/dev/null
	hack/kube-schemas.sh >/dev/null
	npm run test:e2e

.PHONY: e2e-kind
e2e-kind: build ## e2e on a kind cluster (needs Docker and a registry): hack/kind-up.sh, then the same suite
	hack/kind-up.sh
	AO_E2E_CLUSTER=kind KUBECONFIG="$$(hack/kind-up.sh kubeconfig)" npm run test:e2e

.PHONY: test
test: lint typecheck test-covered e2e fuzz-bounded chaos-bounded ## everything CI runs

.PHONY: chaos
chaos: deps tools ## seeded faults under load, invariants checked (SEED=random DURATION=600 [TASKS=n]; docs/reliability.md#chaos)
	node chaos/run.ts --seed $(or $(SEED),random) --duration $(or $(DURATION),600) $(if $(TASKS),--tasks $(TASKS))

.PHONY: chaos-bounded
chaos-bounded: deps tools ## the chaos run make test runs: one seed, each fault once, 1,000 tasks, about 5 minutes
	node chaos/run.ts --seed $(or $(SEED),20261201) --duration $(or $(DURATION),200) --tasks 1000 --bounded

.PHONY: fuzz
fuzz: deps tools ## bad-input fuzzer: hostile Agents, Tasks and policies against the operator (COUNT=10000 SEED=n; docs/reliability.md)
	node fuzz/run.ts --count $(or $(COUNT),10000) $(if $(SEED),--seed $(SEED))

.PHONY: fuzz-bounded
fuzz-bounded: deps tools ## the fuzzer's bounded form in make test: 1,000 objects, one fixed seed, a few minutes
	node fuzz/run.ts --count 1000 --seed 20261201

.PHONY: bench
bench: build tools ## every benchmark scenario (SCENARIO=a,b for some), report in bench/results/ (see bench/README.md)
	node bench/run.ts $(if $(SCENARIO),--scenario $(SCENARIO))

.PHONY: bench-check
bench-check: deps ## fail when a figure of the last `make bench` is past its threshold (bench/thresholds.yaml)
	node bench/check.ts $(if $(SCENARIO),--scenario $(SCENARIO))

.PHONY: bench-agents
bench-agents: ## benchmark: Agent registration (= make bench SCENARIO=registration)
	$(MAKE) bench SCENARIO=registration

.PHONY: bench-autoscaling
bench-autoscaling: ## benchmark: a pool scaling from zero and with a burst (= make bench SCENARIO=autoscaling)
	$(MAKE) bench SCENARIO=autoscaling

.PHONY: bench-cycle
bench-cycle: ## benchmark: the pure routing cycle's cost per task from 100 to 5,000 agents (no cluster)
	node bench/cycle.ts

.PHONY: bench-routing
bench-routing: ## benchmark: routing side by side with kube-scheduler (= make bench SCENARIO=routing)
	$(MAKE) bench SCENARIO=routing

.PHONY: clean
clean: ## remove build output (the binary cache in ~/.cache/agent-orchestrator stays)
	rm -rf dist coverage
