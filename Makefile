# GFN pipeline. A new user needs two commands: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
GO ?= go
# Go 1.27.3 (served by the module proxy) fixes the standard library's known vulnerabilities;
# the go command downloads it on first use.
export GOTOOLCHAIN := go1.27.3
PYTHON ?= python3
VENV := .venv
SODA := $(VENV)/bin/soda
# Every Go package of every module (go.work uses each; tools/deploytest checks the services').
PKGS := $(patsubst %/go.mod,./%/...,$(wildcard contracts/go.mod shared/go.mod services/*/go.mod tools/*/go.mod))
# Benchmarks that print `bench <name> key=value` lines, one core each.
BENCH_PKGS := ./services/extractor/internal/extract ./contracts/quality ./services/transformer/internal/transform ./services/loader/internal/load ./tools/gfnctl/embedded
GFN_DATA_DIR ?=
export GFN_DATA_DIR

FAKESNOW_VENV := .venv-fakesnow

# Each mk/*.mk adds its targets; one that `make test` must run appends it to TEST_EXTRA (run
# beside the go tests; TEST_EXTRA_LATE once TEST_BUILDS is built), one the go tests need
# first to TEST_GO_NEEDS, a build some tests and a late check need to TEST_BUILDS (built at the
# tests' priority beside the go tests' own compiling).
TEST_EXTRA :=
TEST_EXTRA_LATE :=
TEST_GO_NEEDS :=
TEST_BUILDS :=
.DEFAULT_GOAL := run
include mk/tools.mk
include $(filter-out mk/tools.mk,$(wildcard mk/*.mk))

.PHONY: run e2e test test-go test-checks test-checks-late bench soda venv venv-fakesnow vet clean

# The whole pipeline in one process: in-memory bus, ./data/lake, ./data/gfn.duckdb, and the
# GFN API simulator (generated data, or GFN_DATA_DIR's recording) unless GFN_API_KEY is set.
run:
	$(GO) run ./tools/gfnctl run --embedded

# Every service as its own process over moto's SQS/SNS/S3 (started unless AWS_ENDPOINT_URL is set).
e2e:
	$(GO) run ./tools/e2e/cmd/e2e

# Everything CI runs, at once: every module's tests (unit, component tests on moto, e2e) and,
# niced below them so the tests keep their CPU, gofmt/vet and the checks mk/*.mk add to
# TEST_EXTRA (the tests mostly wait on processes and queues; the checks fill that time).
# go test streams its results; each check's output is printed whole when it ends (-Otarget).
# Every step runs to its end (-k) and any failure fails `make test`.
test:
	@$(MAKE) --no-print-directory -k -j test-go test-checks test-checks-late

# Prerequisites the go tests need before they start (mk/*.mk add theirs).
TEST_GO_NEEDS += venv venv-fakesnow
# The slowest packages first: go test starts packages in the order it is given them; -p 4
# because most of their time is spent waiting on stacks, not on the CPU. Test binaries are
# linked without symbol table and DWARF (-s -w), which halves the DuckDB links; stack traces
# do not need them.
TEST_FIRST := ./tools/e2e ./tools/gfnctl ./tools/gfnctl/dlq ./shared/messaging ./tools/deploytest ./shared/warehouse
test-go: $(TEST_GO_NEEDS)
	$(call step-time,go-test) $(GO) test -p 4 -count=1 -timeout 40m -ldflags='-s -w' $(TEST_FIRST) $(PKGS)

# Each step of make test ends with a `time <step>: wall=… cpu=…` line (where GNU time is
# installed), so CI's log shows where its minutes and its two cores go.
step-time = $(if $(wildcard /usr/bin/time),/usr/bin/time -f 'time $(1): wall=%es cpu=%Us+%Ss')
timed-%:
	@$(call step-time,$*) $(MAKE) --no-print-directory $*

test-checks:
	@nice -n 10 $(MAKE) --no-print-directory -k -j -Otarget $(addprefix timed-,vet $(TEST_EXTRA))

# Checks that use what TEST_BUILDS builds (terraform-test: the Lambda bootstraps) start once
# it is built, so a niced check never holds a build the go tests wait for.
test-checks-late: $(TEST_BUILDS)
	@$(if $(strip $(TEST_EXTRA_LATE)),nice -n 10 $(MAKE) --no-print-directory -k -j -Otarget PACKAGED=1 $(addprefix timed-,$(TEST_EXTRA_LATE)))

vet:
	@unformatted=$$(gofmt -l contracts shared services tools); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet $(PKGS)

bench:
	@mkdir -p .cache
	$(GO) test -run '^$$' -bench . -benchtime 1x -cpu 1 $(BENCH_PKGS) > .cache/bench.log 2>&1 || { cat .cache/bench.log; exit 1; }
	@grep '^bench ' .cache/bench.log

# Both data-quality tiers with Soda Core (after `make run`: the loader has released DuckDB).
soda: venv
	GFN_SODA=$(SODA) bash soda/scan.sh

# Soda Core in a venv (pinned as the architecture requires).
venv: $(SODA)
$(SODA): | $(UV)
	$(call python-venv,$(VENV),soda-core==3.5.6 soda-core-duckdb==3.5.6)

# fakesnow's Snowflake server for the Snowflake driver's tests: its own venv, since it needs a
# newer duckdb than Soda's; snowflake-connector-python 5 breaks fakesnow 0.12.1.
venv-fakesnow: $(FAKESNOW_VENV)/bin/fakesnow
$(FAKESNOW_VENV)/bin/fakesnow: | $(UV)
	$(call python-venv,$(FAKESNOW_VENV),'fakesnow[server]==0.12.1' 'snowflake-connector-python<5')

clean:
	rm -rf data dist .cache

