# stxgate — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
# pkg/ is the bot SDK's own module (pkg/go.mod): the server module requires it through
# `replace ./pkg`, so `./...` from here stops at pkg/; every Go target runs there too.
SDK     := pkg
DATABASE_URL_LOCAL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
# Builds that do not depend on where the checkout is: the build cache of one clone serves the next
# (CI tests a fresh clone each run: 44 s instead of 132 s to build the race-enabled tests here).
# Added to the GOFLAGS already in effect (environment or go env -w), which would otherwise be lost.
export GOFLAGS := $(strip $(filter-out -trimpath,$(shell $(GO) env GOFLAGS)) -trimpath)
# What `stxgate version` prints (the image gets them as build arguments).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  = -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## start the gateway (in-memory store unless DATABASE_URL is set) on 127.0.0.1:8080
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/stxgate

.PHONY: build
build: ## build bin/stxgate and bin/stxgatectl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

.PHONY: test
test: ## run every test against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, else local defaults)
	$(GO) vet $(PKGS)
	cd $(SDK) && $(GO) vet ./...
	$(GO) test -race -count=1 -timeout 10m $(PKGS)
	cd $(SDK) && $(GO) test -race -count=1 -timeout 10m ./...

.PHONY: test-contracts
TESTNODE = internal/settlement/stacks/testnode

test-contracts: ## Node.js tests: the settlement contract in simnet (orders signed by stxgatectl), the test Stacks node
	test -d contracts/node_modules || (cd contracts && npm ci)
	test -d $(TESTNODE)/node_modules || (cd $(TESTNODE) && npm ci)
	cd contracts && npm test
	cd $(TESTNODE) && npm test

.PHONY: test-short
test-short: ## unit tests only, no race detector
	$(GO) test -short -count=1 $(PKGS)
	cd $(SDK) && $(GO) test -short -count=1 ./...

.PHONY: web
web: ## rebuild the wallet dashboard (web/ → internal/web/dist, embedded; commit the result)
	cd web && npm ci && npm run build

# The e2e test drives Debian's chromium (a test tool's own browser download does
# not work here); installed when missing, as root or through sudo.
CHROMIUM_PATH ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: chromium
chromium: ## install Debian's chromium for test-e2e when $(CHROMIUM_PATH) is missing
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
	  echo "chromium: $(CHROMIUM_PATH) is missing: installing Debian's chromium"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi
	@test -x "$(CHROMIUM_PATH)" || { echo "chromium: $(CHROMIUM_PATH) is still missing (set CHROMIUM_PATH to a Chromium binary)"; exit 1; }

.PHONY: test-e2e
test-e2e: chromium ## the dashboard in headless Chromium against a real gateway on PostgreSQL + Redis (installs chromium when missing)
	test -d web/node_modules || (cd web && npm ci --no-audit --no-fund)
	cd web && CHROMIUM_PATH=$(CHROMIUM_PATH) npm run test:e2e

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for dir in $(FUZZ_DIRS); do \
	  for f in $(FUZZ_TARGETS); do \
	    echo "== $$dir $$f"; (cd $$dir && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} .) || exit 1; \
	  done; \
	done

# The directories with fuzz targets, in either module, and a directory's targets. `go test -fuzz`
# takes one package of the main module, so each runs inside its own directory (pkg/ is another module).
FUZZ_DIRS = $$(grep -rl --include='*_test.go' --exclude-dir=web --exclude-dir=node_modules '^func Fuzz' . | xargs -n1 dirname | sort -u)
FUZZ_TARGETS = $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go)

# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" when -fuzztime
# expires mid-exec (golang/go#75804, fixed in Go 1.27): such a run, with no failing input written, is
# run once more; any other failure, or the same one twice, fails.
FUZZ_ONE = out=$$(mktemp); \
	  for try in 1 2; do \
	    if (cd $$dir && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-5s} -parallel 2 .) >$$out 2>&1; then cat $$out; break; fi; \
	    cat $$out; \
	    if [ $$try = 1 ] && grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
	      echo "== $$f: Go fuzz-coordinator deadline race (Go issue 75804), running it once more"; continue; \
	    fi; \
	    rm -f $$out; exit 1; \
	  done; rm -f $$out

.PHONY: fuzz-ci
fuzz-ci: ## every fuzz target for FUZZTIME each (default 5s; CI runs this after make test)
	@for dir in $(FUZZ_DIRS); do \
	  for f in $(FUZZ_TARGETS); do \
	    echo "== $$dir $$f"; $(FUZZ_ONE); \
	  done; \
	done

.PHONY: image
image: ## build the container image stxgate:dev (deploy/Dockerfile; docs/scaling.md)
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t stxgate:dev .

# staticcheck, pinned (v0.8.x supports Go 1.26); make lint installs it into bin/ when missing.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK = bin/staticcheck

$(STATICCHECK):
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: lint
lint: ## gofmt, then go vet, go mod tidy -diff and staticcheck in every Go module
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt -l:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	@$(STATICCHECK) -version 2>/dev/null | grep -q '$(STATICCHECK_VERSION:v%=%)' || $(MAKE) -B $(STATICCHECK)
	@for mod in $$(git ls-files '*go.mod' ':!:web/*'); do \
	  dir=$$(dirname $$mod); echo "== lint $$dir"; \
	  (cd $$dir && $(GO) vet ./... && $(GO) mod tidy -diff && $(CURDIR)/$(STATICCHECK) ./...) || exit 1; \
	done

.PHONY: migrate
migrate: ## apply migrations to DATABASE_URL (default: local PostgreSQL)
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_LOCAL)} $(GO) run ./cmd/stxgate migrate

# Benchmarks (bench/README.md): micro-benchmarks, then cmd/stxgate-bench drives the real gateway on
# loopback against ceilings measured in the same run. Needs PostgreSQL and Redis (DATABASE_URL /
# REDIS_URL, else the local defaults); creates and drops its own databases and Redis prefix.
BENCH_SDK_PKGS ?= ./stacks ./ordersig
BENCH_PKGS ?= ./internal/apikey ./internal/keyauth ./internal/ratelimit/... ./internal/httpapi
BENCH_MICRO = { (cd $(SDK) && $(GO) test -run '^$$' -bench . -benchmem -count=1 -benchtime=$(1) $(BENCH_SDK_PKGS)) \
	&& $(GO) test -run '^$$' -bench . -benchmem -count=1 -benchtime=$(1) $(BENCH_PKGS); } > bin/bench-micro.txt 2>&1 \
	|| { cat bin/bench-micro.txt; exit 1; }; cat bin/bench-micro.txt

# The reference floors (bin/ceilings) are built from ../shared/ceilings (its own go.mod) when it is there;
# without it the bench measures its in-tree ceilings instead and its report says so. wrk (Debian) drives
# the closed loops and is installed if missing.
FLOORS_SRC ?= ../shared/ceilings

.PHONY: bench-bin
bench-bin:
	@mkdir -p bin bench
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/stxgate ./cmd/stxgate
	$(GO) build -o bin/stxgate-bench ./cmd/stxgate-bench
	@if [ -f $(FLOORS_SRC)/go.mod ]; then echo "building the floors of $(FLOORS_SRC)"; \
	  $(GO) -C $(FLOORS_SRC) build -o $(CURDIR)/bin/ceilings . || exit 1; \
	else echo "$(FLOORS_SRC) is absent: no floors, the in-tree ceilings stand in"; rm -f bin/ceilings; fi
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@# execute-stacks runs the test Stacks node (Node.js): its npm packages and the contract project's, as .ci/run installs them.
	@if command -v npm >/dev/null; then \
	  test -d $(TESTNODE)/node_modules || (cd $(TESTNODE) && npm ci --no-audit --no-fund --prefer-offline) || exit 1; \
	  test -d contracts/node_modules || (cd contracts && npm ci --no-audit --no-fund --prefer-offline) || exit 1; \
	else echo "npm is missing: the report will say execute-stacks was not measured"; fi

.PHONY: bench
bench: bench-bin ## benchmarks vs same-run ceilings → bench/REPORT.md (about 12 minutes)
	$(call BENCH_MICRO,1s)
	bin/stxgate-bench -micro bin/bench-micro.txt -out bench/REPORT.md

.PHONY: bench-quick
bench-quick: bench-bin ## the one-minute version of make bench (prints the report, writes bin/bench-quick.md)
	$(call BENCH_MICRO,100ms)
	bin/stxgate-bench -quick -micro bin/bench-micro.txt -out bin/bench-quick.md

# Soak (docs/soak.md): cmd/stxgate-soak runs the real gateway on PostgreSQL + Redis with the simulated
# settlement for DURATION of wrk load (keyed, wallet-signed, create, execute, mixed) and prints one table
# of RSS, heap, GC, goroutines, fds, connections, Redis memory, req/s and p99, with the growth per 100,000
# requests after the warm-up. Creates and drops its own database (stxgate_soak) and Redis prefix.
DURATION ?= 10m

.PHONY: soak
soak: ## the gateway under DURATION (default 10m) of load: memory, fds, connections and logs stay flat?
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/stxgate ./cmd/stxgate
	$(GO) build -o bin/stxgate-soak ./cmd/stxgate-soak
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	bin/stxgate-soak -duration $(DURATION) $(SOAK_FLAGS)

.PHONY: soak-ci
soak-ci: ## the 60 s soak with its verdict (CI): fails on memory growth, any 5xx or any ERROR log line
	$(MAKE) soak DURATION=60s SOAK_FLAGS=-check
