# BRAIN — build, test and check the toolchain. `make help` lists the targets.
GO        ?= go
BIN       ?= bin
TOOLS_BIN := $(CURDIR)/tools/bin
STATICCHECK_VERSION := v0.8.2
# DIR is the directory `make verify-logs` checks.
DIR       ?= .brain

export CGO_ENABLED ?= 0

.PHONY: help build test bench verify-logs fmt lint demo clean traces e2e coverage-lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary into bin/
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

test: ## run every test: unit, testscript specs, corpus, crash and concurrency tests
	$(GO) test -count=1 ./...

bench: ## run the benchmarks behind BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchtime 3x -benchmem ./chain/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/verifier/
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./internal/tracelint/
	bash scripts/bench-overhead.sh
	bash scripts/bench-demo.sh

verify-logs: build ## verify every audit chain under DIR (default .brain)
	$(BIN)/brain-audit verify-log $(DIR)

demo: build ## brain-run demo (the golden scenario, offline), then status, the chain's records, tamper and repair
	@./scripts/demo.sh $(BIN)

traces: ## build and start a local Jaeger (OTLP 127.0.0.1:4317, UI/API 127.0.0.1:16686)
	bash scripts/jaeger.sh build
	bash scripts/jaeger.sh start

e2e: build ## end to end against a real Jaeger: traces by session, dead endpoint, flush
	bash scripts/jaeger.sh build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -tags e2e -count=1 -v ./e2e/

coverage-lint: build ## run every golden scenario through brain-run and lint it; UPDATE=1 rewrites the expectations
	bash scripts/coverage-lint.sh $(BIN) $(if $(filter 1,$(UPDATE)),--update)

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

lint: $(TOOLS_BIN)/staticcheck ## go vet and staticcheck
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'run make fmt'; exit 1; }
	$(TOOLS_BIN)/staticcheck ./...

$(TOOLS_BIN)/staticcheck:
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean: ## remove build outputs
	rm -rf $(BIN) $(TOOLS_BIN)
