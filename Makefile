# procreg — developer entry points. `make test` is what CI runs (via .ci/run).
GO ?= go

.PHONY: all test generate generate-check dialect-check vet fmt-check lint cross matrix fuzz fuzz-ci soak-crash unit race bench bench-floor bench-river demo soak

all: test

## test: generated code in sync, the SQL dialects agree, vet/format clean, other platforms compile, every fuzz target briefly, then the database matrix (its table is the last output).
test: generate-check dialect-check lint cross fuzz-ci matrix

## generate: regenerate gen/ from schema/ and queries/ with sqlc, then the
## driver.Tx adapter of each gen package (gen/<dialect>/adapter.go) from it.
generate:
	$(GO) tool sqlc generate
	$(GO) run ./internal/adaptergen/cmd/adaptergen

## generate-check: fail when regenerating would change gen/ (sqlc's output or an adapter).
generate-check:
	@$(GO) tool sqlc diff || { echo "gen/ is out of date: run 'make generate' and commit the result" >&2; exit 1; }
	@$(GO) run ./internal/adaptergen/cmd/adaptergen -check

## dialect-check: the SQL dialects agree (`procreg dialect check`: query names,
## migration versions, the adapter's columns, gen/ in sync, registration, no
## TODO(dialect) left). docs/dialects.md.
dialect-check:
	@$(GO) run ./cmd/procreg dialect check

## lint: gofmt (hand-written code) and go vet.
lint: fmt-check vet

fmt-check:
	@out=$$(git ls-files '*.go' 2>/dev/null | grep -v '^gen/' | xargs -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi

vet:
	$(GO) vet ./...

## cross: every package, test files included, compiles for Windows and macOS
## (go build for the code, go vet to type-check the tests); Unix-only code
## sits behind build tags. CROSS_OS overrides the list.
CROSS_OS ?= windows darwin
cross:
	@set -e; for os in $(CROSS_OS); do \
		echo "cross: GOOS=$$os"; \
		GOOS=$$os $(GO) build ./...; \
		GOOS=$$os $(GO) vet ./...; \
	done

## matrix: every package's tests, with the conformance suite on every backend; prints a summary table.
matrix:
	bash ci/matrix.sh

## fuzz: every Go fuzz target, one after another, for FUZZTIME each (default
## 30s; FUZZPARALLEL workers, default 1; FUZZ_RUN selects targets by regexp).
## A failing input lands in the package's testdata/fuzz/<target>/: commit
## it with the fix. See ci/fuzz.sh.
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash ci/fuzz.sh

## fuzz-ci: every fuzz target for 10s (part of make test).
fuzz-ci:
	FUZZTIME=10s GO=$(GO) bash ci/fuzz.sh

## soak-crash: the SQLite crash-consistency test with CRASH_KILLS writer
## kills (default 2000; make test runs it with 200).
CRASH_KILLS ?= 2000
soak-crash:
	PROCREG_CRASH_KILLS=$(CRASH_KILLS) $(GO) test -count=1 -timeout 60m -run '^TestCrashConsistency$$' -v ./backends/sqlite

## unit: plain go test without the matrix wrapper.
unit:
	$(GO) test ./...

## race: every package under the race detector (slower; the server backends need their DSNs as in matrix).
race:
	$(GO) test -race -count=1 ./...

## bench: the Go benchmarks (set PROCREG_POSTGRES_DSN / PROCREG_MYSQL_DSN for the server backends).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-floor: procreg bench on every backend (sqlite in a temporary directory,
## postgres, mysql, mariadb in databases of their own on the servers of
## PROCREG_*_DSN or the local ones, memory), each against its floor; prints the
## Markdown tables of docs/performance.md with the load average.
## BENCH_FLAGS adds flags (e.g. BENCH_FLAGS="--duration 10s"). See ci/bench.sh.
bench-floor:
	GO=$(GO) bash ci/bench.sh floor

## bench-river: procreg bench --ops lifecycle and River's no-op jobs
## (bench/river, a module of its own) on the same PostgreSQL; RIVER_DURATION
## (default 10s).
bench-river:
	GO=$(GO) bash ci/bench.sh river

## demo: the main job on the embedded SQLite default.
demo:
	$(GO) run ./cmd/procreg demo

## soak: the demo fleet with crash, stall, connection-kill and server-restart
## injection plus checked histories, against BACKEND (sqlite, postgres,
## mysql; the servers are instances the soak starts itself) for DURATION;
## ends with the invariant table and the counts of faults and operations.
## First, the SQLite crash-consistency test with CRASH_KILLS kills (soak-crash).
BACKEND ?= sqlite
DURATION ?= 10m
soak: soak-crash
	PROCREG_SOAK_BACKEND=$(BACKEND) PROCREG_SOAK_DURATION=$(DURATION) $(GO) test -tags soak -count=1 -timeout 0 -run '^TestSoak$$' -v ./internal/soak/
