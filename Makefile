# Accord — `make help` lists the targets.
GO       ?= go
PKGS     ?= ./...
BIN      ?= bin/accord
TEST_TIMEOUT ?= 14m

.DEFAULT_GOAL := help

## help: list the targets
.PHONY: help
help:
	@awk -F': ' '/^## / { sub(/^## /, ""); name = $$1; sub(/^[^:]*: /, ""); printf "  %-10s %s\n", name, $$0 }' $(MAKEFILE_LIST)

## run: start Accord with its own PostgreSQL and the demo tenant on http://localhost:8080
.PHONY: run
run:
	$(GO) run ./cmd/accord serve --demo

## test: every test, against a throwaway PostgreSQL, browser tests included
.PHONY: test
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

## bench: the benchmarks (figures of the issues), without the tests
.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

## lint: gofmt, go vet, and generated templ code up to date
.PHONY: lint
lint: verify
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## verify: fail when `templ generate` would change the committed *_templ.go files
.PHONY: verify
verify: generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ output is stale: run make generate and commit"; exit 1)
	@untracked=$$(git ls-files --others --exclude-standard -- '*_templ.go'); \
		if [ -n "$$untracked" ]; then echo "uncommitted templ output: $$untracked"; exit 1; fi

## generate: regenerate the templ views
.PHONY: generate
generate:
	$(GO) tool templ generate -log-level error

## build: compile bin/accord
.PHONY: build
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/accord

## worker: run a worker process only (next to `make run` or another serve)
.PHONY: worker
worker:
	$(GO) run ./cmd/accord worker

## migrate: apply pending migrations
.PHONY: migrate
migrate:
	$(GO) run ./cmd/accord migrate up

## tidy: go mod tidy
.PHONY: tidy
tidy:
	$(GO) mod tidy
