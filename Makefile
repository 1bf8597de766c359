# BRAIN — build, test and check the toolchain. `make help` lists the targets.
GO        ?= go
BIN       ?= bin
# Tools are built once per pinned version and kept outside the clone.
TOOLS_CACHE ?= $(or $(BRAIN_TOOLS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/brain/tools)
export BRAIN_TOOLS_CACHE := $(TOOLS_CACHE)
STATICCHECK_VERSION := v0.8.2
# DIR is the directory `make verify-logs` checks.
DIR       ?= .brain
# DRILLS_OUT is where `make drills` writes its journal, JUnit report and
# the drill run's own workspace.
DRILLS_OUT ?= build/drills

export CGO_ENABLED ?= 0
SHELL     := bash

# PREFIX is where `make install` puts the binaries (PREFIX/bin).
PREFIX    ?= $(shell $(GO) env GOPATH)

.PHONY: help build install test test-full bench verify-logs fmt lint demo clean traces traces-stop e2e e2e-witness coverage-lint drills bench-report e2e-report screenshots stack stack-stop stack-status e2e-stack dashboards

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# -buildvcs=auto stamps the commit into the binaries (--version) even where
# GOFLAGS turns it off; -v feeds the progress lines of a cold build.
# BUILD_ENV is the compiler's and linker's own garbage collector: a cold
# build spends a tenth of its CPU collecting garbage in them; GOGC=400 lets
# their heaps grow further between collections, and GOMEMLIMIT keeps the
# largest (the OpenAI client's package, about 2.9 GB either way) where it
# was (BENCHMARKS.md, "The cold build"). It changes no output byte and no
# cache key, so `make build` and the tests share the build cache.
BUILD_ENV ?= GOGC=400 GOMEMLIMIT=3GiB
build: ## build every binary into bin/ (a cold build prints progress)
	@echo "building bin/: brain-run, brain-run-full, brain-audit, brain-trace-lint, brain-drill"
	@set -o pipefail; $(BUILD_ENV) $(GO) build -buildvcs=auto -trimpath -v -o $(BIN)/ ./cmd/... 2>&1 | bash scripts/progress.sh build

install: build ## install the binaries into PREFIX/bin (default: $(go env GOPATH)/bin)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/brain-run $(BIN)/brain-run-full $(BIN)/brain-audit $(BIN)/brain-trace-lint $(BIN)/brain-drill $(DESTDIR)$(PREFIX)/bin/
	@echo "installed into $(DESTDIR)$(PREFIX)/bin; shell completion: source <(brain-audit completion bash), and the same for brain-run, brain-trace-lint and brain-drill"

test: ## every test, the slow suites at their short size (a few minutes warm): unit, specs, corpus, crash, concurrency, hostile inputs
	$(GO) test -short -count=1 ./...

test-full: ## every test at full size (crash rounds, memory bounds, hostile modules, the Go-built check); CI runs it too
	$(GO) test -count=1 ./...

bench: ## run the benchmarks behind BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchtime 3x -benchmem ./chain/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/verifier/
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./internal/tracelint/
	bash scripts/bench-overhead.sh
	bash scripts/bench-demo.sh
	bash scripts/bench-drills.sh

verify-logs: build ## verify every audit chain under DIR (default .brain)
	$(BIN)/brain-audit verify-log $(DIR)

demo: build ## brain-run demo (the golden scenario, offline), then status, the chain's records, tamper and repair
	@./scripts/demo.sh $(BIN)

traces: ## build and start a local Jaeger (OTLP 127.0.0.1:4317, query API 127.0.0.1:16686)
	bash scripts/jaeger.sh build
	bash scripts/jaeger.sh start

traces-stop: ## stop the Jaeger that make traces started
	bash scripts/jaeger.sh stop

stack: ## start the local observability stack: collector (OTLP 127.0.0.1:4317), Jaeger (127.0.0.1:16686), Prometheus (127.0.0.1:9090); docs/stack.md
	bash scripts/stack.sh start

stack-stop: ## stop the stack that make stack started
	bash scripts/stack.sh stop

stack-status: ## say whether the stack's collector, Jaeger and Prometheus run
	bash scripts/stack.sh status

e2e: build ## end to end against a real Jaeger: traces by session, dead endpoint, flush
	@if bash scripts/jaeger.sh status >/dev/null 2>&1; then \
	  echo "make e2e: the Jaeger of 'make traces' is running on the ports e2e needs; stop it first: make traces-stop" >&2; exit 1; fi
	bash scripts/jaeger.sh build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -tags e2e -count=1 -v ./e2e/

e2e-witness: build ## checkpoints cosigned by a real C2SP witness (litewitness, built once per pinned version) on 127.0.0.1
	bash scripts/deps.sh openssh-client
	bash scripts/litewitness.sh build
	$(GO) test -tags e2e -count=1 -v ./e2e/witness/

# The HTML report in a real browser: Debian's chromium, headless, driven
# through the DevTools protocol (internal/tracelint/browser_test.go).
BROWSER_DEPS := chromium fonts-dejavu-core
BROWSER_TEST  = PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -tags browser -count=1

e2e-report: build ## the HTML report in headless Chromium: golden scenarios, hostile values, no request, no console error
	bash scripts/deps.sh $(BROWSER_DEPS)
	$(BROWSER_TEST) -v -run '^TestBrowser' ./internal/tracelint/

screenshots: build ## render the reports of the golden scenarios to docs/img/*.png (docs/viewing-traces.md)
	bash scripts/deps.sh $(BROWSER_DEPS)
	BRAIN_SCREENSHOTS="$(CURDIR)/docs/img" $(BROWSER_TEST) -v -run '^TestScreenshots$$' ./internal/tracelint/

bench-report: build ## time Chromium loading a 10,000-span report against an empty one (BENCHMARKS.md)
	bash scripts/deps.sh $(BROWSER_DEPS)
	$(BROWSER_TEST) -run '^$$' -bench '^BenchmarkBrowserReport$$' -benchtime 10x ./internal/tracelint/

e2e-stack: build ## end to end against the real stack: every dashboard panel and alert rule queried in a real Prometheus
	@if bash scripts/stack.sh status >/dev/null 2>&1 || bash scripts/jaeger.sh status >/dev/null 2>&1; then \
	  echo "make e2e-stack: a stack or Jaeger of this checkout is running on the ports e2e-stack needs; stop it first: make stack-stop (or make traces-stop)" >&2; exit 1; fi
	bash scripts/stack.sh build
	$(GO) test -tags e2estack -count=1 -v -run TestStack ./e2e/

coverage-lint: build ## run every golden scenario through brain-run and lint it; UPDATE=1 rewrites the expectations
	bash scripts/coverage-lint.sh $(BIN) $(if $(filter 1,$(UPDATE)),--update)

drills: build ## run the outage drills (drills/*.md); the journal and JUnit report go to DRILLS_OUT (build/drills)
	@mkdir -p $(DRILLS_OUT)
	$(BIN)/brain-drill run --dir $(DRILLS_OUT)/.brain --json $(DRILLS_OUT)/journal.json --junit $(DRILLS_OUT)/junit.xml drills/

dashboards: ## regenerate the Grafana dashboards (deploy/grafana/dashboards/*.json) from deploy/grafana/gen
	$(GO) generate ./deploy/grafana/gen

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

STATICCHECK := $(TOOLS_CACHE)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

# The read-only tools build for every system an auditor may verify a chain
# on (brain-run and brain-drill are Linux only); TestPortableBuilds reads
# this list too.
PORTABLE_CMDS    := ./cmd/brain-audit ./cmd/brain-trace-lint
PORTABLE_TARGETS := darwin/arm64 darwin/amd64 windows/amd64 freebsd/amd64 linux/arm64

lint: $(STATICCHECK) ## go vet, staticcheck, and the read-only tools built for macOS, Windows, FreeBSD and Linux on ARM
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'run make fmt'; exit 1; }
	$(STATICCHECK) ./...
	@for t in $(PORTABLE_TARGETS); do \
	  echo "GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build $(PORTABLE_CMDS)"; \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null $(PORTABLE_CMDS) || exit 1; \
	done

$(STATICCHECK):
	GOBIN=$(dir $(STATICCHECK)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean: ## remove build outputs
	rm -rf $(BIN) build
