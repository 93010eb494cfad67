# xuncha — `make help` lists what a developer does here.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

# Pinned tool versions; `make tools` installs them into ./bin with go install.
TEMPORAL_CLI_VERSION     := v1.5.1
BUF_VERSION              := v1.75.0
PROTOC_GEN_GO_VERSION    := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
GRPC_GATEWAY_VERSION     := v2.33.0
STATICCHECK_VERSION      := v0.8.2
# workflowcheck is versioned apart from go.temporal.io/sdk; v0.6.0 checks sdk v1.51 workflows.
WORKFLOWCHECK_VERSION    := v0.6.0
# sqlc needs cgo (its PostgreSQL parser is C): a C compiler must be installed.
SQLC_VERSION             := v1.31.1
# The Temporal server of make test's cluster tier (e2e/cluster), built from its Go module
# (never a dependency of ours): v1.30.4 is the newest release Go 1.26 builds. Keep it equal
# to temporalcluster.ServerVersion (internal/temporalcluster).
TEMPORAL_SERVER_VERSION  := v1.30.4

GENERATED := proto/xuncha/v1 api/openapi ledger/internal/dbsqlc

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/.-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build $(BIN)/temporal ## Run everything locally: Temporal dev server + Web UI, private PostgreSQL, worker and API (xuncha dev).
	$(BIN)/xuncha dev

.PHONY: build
build: ## Build bin/xuncha.
	go build -o $(BIN)/xuncha ./cmd/xuncha

.PHONY: test
test: $(BIN)/temporal $(BIN)/temporal-server $(BIN)/temporal-sql-tool $(BIN)/staticcheck $(BIN)/workflowcheck check-generated ## Run all tests: vet, staticcheck, workflowcheck, unit, workflow and integration tests (real PostgreSQL and Temporal), the cluster tier and its chaos test.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags lifecyclebench,herd ./internal/lifecyclebench/ ./e2e/cluster/
	$(BIN)/staticcheck ./...
	$(BIN)/staticcheck -tags lifecyclebench,herd ./internal/lifecyclebench/ ./e2e/cluster/
	$(BIN)/workflowcheck -config workflowcheck.config.yaml ./workflows/...
	@echo "go test -race -count=1 -v ./...   (full output in .test.log)"
	@status=0; go test -race -count=1 -timeout 20m -v ./... > .test.log 2>&1 || status=$$?; \
	echo "--- real components the integration tests used:"; grep -E '^testenv:' .test.log || true; \
	echo "--- tests:"; grep -E '^--- (PASS|FAIL)' .test.log || true; \
	echo "--- packages:"; grep -E '^(ok|FAIL|panic:)' .test.log || true; \
	echo "$$(grep -c -- '--- PASS' .test.log) tests and subtests passed, $$(grep -c -- '--- FAIL' .test.log) failed"; \
	if [ $$status -ne 0 ]; then echo "--- failures (from .test.log):"; grep -E -B3 -A40 -- '--- FAIL|^panic:' .test.log | head -400; fi; \
	exit $$status

.PHONY: test-short
test-short: ## Run the tests without the race detector (faster while developing).
	go test -count=1 ./...

FUZZTIME ?= 1m

.PHONY: fuzz
fuzz: $(BIN)/temporal ## Fuzz the REST gateway with mutated bodies against a real stack (FUZZTIME=1m); make test runs the seeds.
	go test -run '^$$' -fuzz FuzzRESTGateway -fuzztime $(FUZZTIME) ./api/

# The lifecycle benchmark's flags (see internal/lifecyclebench/bench_test.go).
BENCH_FLAGS ?= -rounds=5 -n=16 -clients=1,8 -warmup=1

.PHONY: bench-lifecycle
bench-lifecycle: $(BIN)/temporal ## Benchmark the finding lifecycle against a bare workflow (BENCH_FLAGS; issue 9 item 5); not part of make test.
	go test -tags lifecyclebench -count=1 -run '^TestLifecycleOverhead$$' -v -timeout 30m ./internal/lifecyclebench -args $(BENCH_FLAGS)

.PHONY: bench-statistics
bench-statistics: ## Benchmark statistics at 1,000,000 findings, seeded in SQL first (minutes; issue 13); not part of make test.
	go test -run '^$$' -bench BenchmarkStatistics -benchtime 20x -timeout 60m ./ledger/

.PHONY: bench-export
bench-export: ## Benchmark the problem list's export of 10,000 and 100,000 findings: time and peak heap (issue 13); not part of make test.
	go test -run '^$$' -bench BenchmarkExport -benchtime 3x -timeout 60m ./problemlist/

# The import benchmark's size and concurrency (see api/import_bench_test.go).
IMPORT_ROWS ?= 10000
IMPORT_CONCURRENCY ?= 16

.PHONY: bench-import
bench-import: $(BIN)/temporal ## Benchmark the problem list's import of 10,000 rows through the whole stack (IMPORT_ROWS, IMPORT_CONCURRENCY; issue 13); not part of make test.
	XUNCHA_BENCH_IMPORT_ROWS=$(IMPORT_ROWS) XUNCHA_BENCH_IMPORT_CONCURRENCY=$(IMPORT_CONCURRENCY) go test -count=1 -run '^$$' -bench '^BenchmarkImport$$' -benchtime 1x -timeout 90m ./api/

.PHONY: bench-list
bench-list: $(BIN)/temporal ## Benchmark GET /v1/findings (REST and gRPC) at 1,000,000 seeded findings (BENCH_FINDINGS, BENCH_TIME); not part of make test.
	XUNCHA_BENCH_FINDINGS=$(or $(BENCH_FINDINGS),1000000) go test -count=1 -run '^$$' -bench '^BenchmarkListFindings$$' -benchtime $(or $(BENCH_TIME),500x) -timeout 30m ./api/

.PHONY: bench
# Where make bench keeps each benchmark's log for its table.
BENCH_OUT ?= $(CURDIR)/.bench

bench: ## The scale figures of issue 12: lifecycle ratio, list p99 at 1,000,000 findings, the midnight herd, then one table of them with the load (an hour or more); not part of make test.
	@mkdir -p $(BENCH_OUT)
	@rm -f $(BENCH_OUT)/lifecycle.log $(BENCH_OUT)/list.log $(BENCH_OUT)/herd.log
	@for b in lifecycle list herd; do \
	  log=$(BENCH_OUT)/$$b.log; \
	  echo "load: $$(cut -d' ' -f1-3 /proc/loadavg)" >> $$log; \
	  $(MAKE) --no-print-directory bench-$$b 2>&1 | tee -a $$log || echo "bench-$$b failed: its figures are missing below" | tee -a $$log; \
	  echo "load: $$(cut -d' ' -f1-3 /proc/loadavg)" >> $$log; \
	done
	@echo
	@echo "make bench, $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(nproc) cores (logs in $(BENCH_OUT)):"
	@go run ./internal/benchtable $(BENCH_OUT)

.PHONY: bench-herd
bench-herd: ## The midnight herd on the Temporal cluster: HERD_FINDINGS (default 10,000) deadlines ending at one instant, escalations timed (tens of minutes; issue 12 item 1); not part of make test.
	XUNCHA_HERD_FINDINGS=$(or $(HERD_FINDINGS),10000) go test -tags herd -count=1 -run '^TestMidnightHerd$$' -v -timeout 180m ./e2e/cluster/

.PHONY: bench-audit
bench-audit: ## Time xuncha audit verify over 100,000 events (issue 11 item 3); not part of make test.
	go test -count=1 -run '^$$' -bench '^BenchmarkVerifyAudit$$' -benchtime 3x -timeout 30m ./ledger

.PHONY: record-histories
record-histories: $(BIN)/temporal ## Record real workflow histories into workflows/testdata/replay for the replay test.
	XUNCHA_RECORD_HISTORIES=1 go test -count=1 -run '^(TestInspectionProcedureREST|TestHostileClientHangingReceiver|TestWithdrawnOverdueFindingEndsCleanly|TestCalendarLoadRedatesRunningDeadline|TestInterviewLifecycleREST)$$' ./api/

.PHONY: generate
generate: tools ## Regenerate protobuf Go code, the REST gateway, the OpenAPI document and the ledger's queries (sqlc).
	rm -f proto/xuncha/v1/*.pb.go proto/xuncha/v1/*.pb.gw.go api/openapi/*.json ledger/internal/dbsqlc/*.go
	$(BIN)/buf generate
	$(BIN)/sqlc generate

.PHONY: check-generated
check-generated: tools ## Fail when generated code is stale: regenerate into a scratch copy and compare.
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/proto/xuncha/v1" "$$tmp/api/openapi"; \
	cp -r proto buf.yaml buf.gen.yaml "$$tmp/"; cp -r api/openapi "$$tmp/api/"; \
	rm -f "$$tmp"/proto/xuncha/v1/*.pb.go "$$tmp"/proto/xuncha/v1/*.pb.gw.go "$$tmp"/api/openapi/*.json; \
	sed 's#local: bin/#local: $(BIN)/#' buf.gen.yaml > "$$tmp/buf.gen.yaml"; \
	(cd "$$tmp" && $(BIN)/buf generate); \
	mkdir -p "$$tmp/ledger"; cp sqlc.yaml "$$tmp/"; cp -r ledger/migrations ledger/queries "$$tmp/ledger/"; \
	(cd "$$tmp" && $(BIN)/sqlc generate); \
	if ! diff -r proto "$$tmp/proto" >/dev/null || ! diff -r api/openapi "$$tmp/api/openapi" >/dev/null \
	  || ! diff -r ledger/internal/dbsqlc "$$tmp/ledger/internal/dbsqlc" >/dev/null; then \
	  diff -r proto "$$tmp/proto" | head -20; diff -r api/openapi "$$tmp/api/openapi" | head -20; \
	  diff -r ledger/internal/dbsqlc "$$tmp/ledger/internal/dbsqlc" | head -20; \
	  echo "generated code is stale: run 'make generate' and commit the result"; exit 1; \
	fi; echo "generated code is current"

.PHONY: tools
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 $(BIN)/sqlc ## Install the pinned code generators into ./bin.

$(BIN)/buf:
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
$(BIN)/sqlc:
	CGO_ENABLED=1 GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(BIN)/workflowcheck:
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

$(BIN)/temporal: ## Install the Temporal CLI (dev server + Web UI); the first build takes several minutes.
	@echo "installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into bin/ (the first build takes several minutes)"
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# go install names them server and sql: built in a scratch GOBIN, then renamed.
$(BIN)/temporal-server $(BIN)/temporal-sql-tool &: ## Install the Temporal server and its SQL schema tool (the cluster tier); the first build takes several minutes.
	@echo "installing the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool into bin/ (the first build takes several minutes)"
	@mkdir -p $(BIN); tmp=$$(mktemp -d "$(BIN)/.temporal-server-XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
	GOBIN="$$tmp" go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION); \
	mv "$$tmp/server" $(BIN)/temporal-server; mv "$$tmp/sql" $(BIN)/temporal-sql-tool

.PHONY: clean
clean: ## Remove bin/ (keeps .data/, the local state).
	rm -rf $(BIN)
