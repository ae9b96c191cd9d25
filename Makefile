# ntp-monitor — build, test and run.
#
#   make run    install what is missing, build, start the collector
#   make test   install what is missing, build, lint, run every test
#
# Network tests create their own namespaces and need root; as another user
# they skip with a message saying so.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin

# Fuzz targets run briefly inside make test: package:Target.
FUZZ_TARGETS := ./pkg/wire:FuzzDecode ./pkg/wire:FuzzRedact ./pkg/wire:FuzzAppendNumber ./pkg/wire:FuzzAppendIP \
	./pkg/session:FuzzAppendTime ./pkg/ntp:FuzzDecode ./pkg/frame:FuzzDecode ./pkg/hll:FuzzMergeBinary \
	./pkg/loghist:FuzzMergeBinary ./pkg/fingerprint:FuzzClassify ./pkg/capture:FuzzSavefile \
	./pkg/store:FuzzSeriesStored ./pkg/httpapi:FuzzParseStep ./pkg/retention:FuzzParseAge \
	./pkg/httpapi:FuzzStreamQuery ./pkg/httpapi:FuzzListQuery ./pkg/httpapi:FuzzSearchBody
# Executions, not seconds: a -fuzztime duration races Go's fuzzing
# coordinator at its deadline and fails with "context deadline exceeded"
# and no crasher now and then (golang/go#75804, unfixed in Go 1.26); a count
# has no deadline to race.
FUZZ_TIME ?= 20000x
# make fuzz: executions per target (go test -fuzztime Nx).
FUZZ_EXECS ?= 10000000
# go test -timeout for each fuzz run (0: none).
FUZZ_TIMEOUT ?= 10m
# Extra go test flags for the fuzz runs.
FUZZ_FLAGS ?=

.PHONY: all deps deps-run build lint test test-go fuzz fuzz-short e2e bench bench-go bench-worker bench-capture bench-collector bench-api soak run demo screenshots install uninstall clean

all: build

# Everything the tests and the demo need (includes chrony: see scripts/deps.sh).
deps:
	@scripts/deps.sh test

# Only what building and running need: safe on the NTP server being watched.
deps-run:
	@scripts/deps.sh run

# What --version, /health and ntp_build_info report (pkg/buildinfo). Outside
# a git checkout (an exported tree) the git commands print nothing and the
# binaries fall back to what the go command recorded, or "devel"/"unknown".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD -- || c=$$c-dirty; echo $$c; })
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BUILDINFO := github.com/ntp-monitor/ntp-monitor/pkg/buildinfo
LDFLAGS := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(BUILD_DATE)

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ntp-worker ./cmd/ntp-worker
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ntp-collector ./cmd/ntp-collector

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps build lint test-go fuzz-short e2e

test-go:
	$(GO) test -race -count=1 -timeout 30m ./...

# A short run of every fuzz target (FUZZ_TIME executions each); the corpus
# in testdata/fuzz is replayed by test-go as well.
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZ_TIME))"; \
		FUZZ_PKG=$$($(GO) list $$pkg) $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZ_TIME) -timeout $(FUZZ_TIMEOUT) $(FUZZ_FLAGS) $$pkg; \
	done

# The long run, not in CI: every target for FUZZ_EXECS executions, with no
# test timeout (go test's default of 10 minutes would end a slow target),
# coverage guidance from the package under test only
# (scripts/fuzz-toolexec.sh says why).
fuzz:
	$(MAKE) fuzz-short FUZZ_TIME=$(FUZZ_EXECS)x FUZZ_TIMEOUT=0 FUZZ_FLAGS=-toolexec=$(CURDIR)/scripts/fuzz-toolexec.sh

# Soak with faults, not in CI: make soak DURATION=30m [SOAK_BACKEND=sqlite].
DURATION ?= 30m
SOAK_BACKEND ?= sqlite
soak: build
	DURATION=$(DURATION) SOAK_BACKEND=$(SOAK_BACKEND) scripts/soak.sh

e2e: build
	@if [ -x scripts/e2e.sh ]; then scripts/e2e.sh; else echo "e2e: scripts/e2e.sh not present"; fi

# Every part below, its output written into scripts/performance.md.
bench: deps build
	@scripts/bench.sh

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/... | tee bench-go.txt

bench-worker: build
	@scripts/bench-worker.sh

# Live capture at fixed rates on a veth between two network namespaces
# (root only; skipped with a message otherwise).
bench-capture: build
	@scripts/bench-capture.sh

bench-collector: build
	@scripts/bench-collector.sh

bench-api: build
	@scripts/bench-api.sh

run: deps-run build
	$(BIN)/ntp-collector serve

demo: deps build
	@scripts/demo.sh

# The README's pictures of the dashboard, from the demo (scripts/screenshots).
screenshots: deps build
	@scripts/screenshots.sh

install: deps-run build
	@scripts/install.sh

uninstall:
	@scripts/install.sh --uninstall

clean:
	rm -rf $(BIN) bench-go.txt
