# trueup — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       := bin/trueup
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# The test control plane (kube-apiserver + etcd) is built once per machine
# into this cache folder, outside the checkout; see fixtures/testenv.
KUBE_VERSION    := v1.37.2
TRUEUP_TESTENV_DIR ?= $(HOME)/.cache/trueup/testenv/$(KUBE_VERSION)
export TRUEUP_TESTENV_DIR
# kubectl built by `make tools` on machines without one lands there too.
export PATH := $(PATH):$(TRUEUP_TESTENV_DIR)
FUZZTIME  ?= 10000x

.PHONY: all build image test testenv controlplane demo bench lint fuzz tools clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# CGO_ENABLED=0: a static binary. With cgo, kustomize's import of the
# plugin package makes the linker build a dynamically linked binary that
# starts about 20% slower (measured by fixtures/bench/helmrender).
build: ## build bin/trueup
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/trueup

image: build ## build trueup's OCI image without Docker: bin/image (OCI layout) and bin/trueup-image.tar (docker/podman load)
	$(GO) run ./cmd/trueup-image -binary $(BIN) -version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)"

testenv: ## build kube-apiserver, etcd, Gitea, Dex, helm and an OCI registry for the tests (cached per machine)
	bash fixtures/testenv/build.sh all
	bash fixtures/testenv/helm/build.sh
	bash fixtures/testenv/registry/build.sh

tools: ## check the programs the tests use (git, kubectl, PostgreSQL, moto, Chromium) and install missing ones
	@bash fixtures/testenv/tools.sh

test: testenv tools ## build what the tests need, run every test with -race, then short fuzz runs
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

# The Slack payload and YAML write-back fuzzers render and check whole
# messages and kustomize trees (100-200 inputs/s here), so they get a
# smaller default count.
SLOW_FUZZTIME ?= 2000x

fuzz: ## run each fuzz target for FUZZTIME (default 10000x: a count, not a duration, so the run never ends mid-input; e.g. FUZZTIME=1m)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./reconciler/config
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./sources/render
	$(GO) test -run '^$$' -fuzz '^FuzzParseSSHSignature$$' -fuzztime $(FUZZTIME) ./sources/git
	$(GO) test -run '^$$' -fuzz '^FuzzCanonical$$' -fuzztime $(FUZZTIME) ./reconciler/history
	$(GO) test -run '^$$' -fuzz '^FuzzAppendCompact$$' -fuzztime $(FUZZTIME) ./reconciler/history
	$(GO) test -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime $(FUZZTIME) ./reconciler/history
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(SLOW_FUZZTIME) ./notifications/slack
	$(GO) test -run '^$$' -fuzz '^FuzzEdit$$' -fuzztime $(SLOW_FUZZTIME) ./sources/writeback
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizePolicy$$' -fuzztime $(FUZZTIME) ./drift/aws
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(SLOW_FUZZTIME) -fuzzminimizetime 3s ./reconciler/policy
	$(GO) test -run '^$$' -fuzz '^FuzzTreeEditPaths$$' -fuzztime $(SLOW_FUZZTIME) ./sources/git
	$(GO) test -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) ./sources/githost/internal/hostapi
	$(GO) test -run '^$$' -fuzz '^FuzzCheckArchive$$' -fuzztime $(SLOW_FUZZTIME) ./sources/helmrepo

controlplane: ## build only kube-apiserver and etcd (what make demo runs; cached per machine)
	bash fixtures/testenv/build.sh controlplane

demo: build controlplane ## run trueup serve on a throwaway control plane and walk through a drift
	$(GO) build -o bin/demo-controlplane ./fixtures/demo/controlplane
	TRUEUP=$(BIN) CONTROLPLANE=bin/demo-controlplane bash fixtures/demo/demo.sh

bench: testenv build ## run the benchmarks (ratios against a baseline, side by side)
	@echo "== render podinfo's chart with custom values vs helm template: as trueup serve does, then trueup render --local and trueup render as whole processes (ratio <= 1 wanted)"
	$(GO) run ./fixtures/bench/helmrender -trueup $(BIN) -helm $(TRUEUP_TESTENV_DIR)/helm
	@echo "== steady state at 1,000 objects: trueup no-change reconcile vs fluxcd/pkg/ssa ApplyAll (time-ratio, reqs-ratio), edit-to-drift delay"
	$(GO) test -run '^$$' -bench BenchmarkSteadyState -benchtime 5x ./reconciler/
	@echo "== cloud drift on moto: change-to-drift delay with CloudTrail events on SQS vs polling every 10s (p50/p95, one run)"
	$(GO) test -run '^$$' -bench BenchmarkCloudEventLatency -benchtime 1x ./reconciler/
	@echo "== 10,000 objects (SCALE_FLAGS=\"-targets 2 -objects 100\" for a quick run): first apply and diff vs kubectl --server-side, daemon RSS, idle CPU, one edit's requests"
	$(GO) run ./fixtures/bench/scale -trueup $(BIN) $(SCALE_FLAGS)
	@echo "== 200 targets × 50 objects on three replicas (ha, PostgreSQL history): targets owned, RSS, idle CPU and API requests per replica"
	$(GO) run ./fixtures/bench/scale -trueup $(BIN) -targets 200 -objects 50 -replicas 3 -skip-kubectl-apply -skip-kubectl-diff
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/reconciler$$')

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean: ## remove build output (not the testenv cache)
	rm -rf bin .demo
