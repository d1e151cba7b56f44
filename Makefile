# stxgate — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
DATABASE_URL_LOCAL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## start the gateway (in-memory store unless DATABASE_URL is set) on 127.0.0.1:8080
	$(GO) run ./cmd/stxgate

.PHONY: build
build: ## build bin/stxgate and bin/stxgatectl
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

.PHONY: test
test: ## run every test against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, else local defaults)
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 10m $(PKGS)

.PHONY: test-short
test-short: ## unit tests only, no race detector
	$(GO) test -short -count=1 $(PKGS)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
	  done; \
	done

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

.PHONY: migrate
migrate: ## apply migrations to DATABASE_URL (default: local PostgreSQL)
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_LOCAL)} $(GO) run ./cmd/stxgate migrate

.PHONY: bench
bench: ## micro-benchmarks (the full load benchmark is a later issue)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
