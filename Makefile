# yima — see README.md. `make` alone prints this list.
GO      ?= go
BIN     ?= bin/yima
DEMO    ?= $(CURDIR)/demo-data
ADDR    ?= 127.0.0.1:8089

.PHONY: help build test test-pg test-drills demo bench bench-compare bench-growth bench-growth-50m fmt lint fuzz clean

help: ## print the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

build: ## build bin/yima
	$(GO) build -o $(BIN) ./cmd/yima

test: ## vet and race-test everything (what CI runs), then the rules on the retrying in-memory store and on PostgreSQL
	$(GO) vet ./...
	$(GO) test -race -timeout 8m ./...
	YIMA_TEST_STORE=memory $(GO) test -race -timeout 8m ./reward/
	# The rules on PostgreSQL without -race (3 minutes more with it): the
	# runs above race-test the rules, store/pgstore's tests the backend.
	YIMA_TEST_STORE=postgres $(GO) test -timeout 8m ./reward/

test-pg: ## the PostgreSQL backend alone: its conformance and fault tests, then the rules on it
	$(GO) test -race -timeout 8m ./store/pgstore/...
	YIMA_TEST_STORE=postgres $(GO) test -race -timeout 8m ./reward/

test-drills: ## the proof drills: ten database failovers on pg_auto_failover, twenty yima node kills, a 37 s database outage (5 to 7 min)
	YIMA_DRILLS=1 $(GO) test -count=1 -timeout 12m -v -run '^(TestDatabaseFailover|TestKillNodeDuringBurst|TestNodeWaitsOutOutage)$$' ./cmd/yima/

demo: build ## mint, serve, scan; then a campaign, a guide and a coupon verified at the counter
	./scripts/demo.sh $(BIN) $(DEMO) $(ADDR)

bench: build ## Go micro-benchmarks, then a short yima bench run
	$(GO) test -run '^$$' -bench . -benchmem ./codegen/... ./store/... ./reward
	$(BIN) bench --duration 10s

bench-compare: build ## yima bench beside Redis and PostgreSQL (installs them)
	./scripts/install-baselines.sh
	$(BIN) bench --duration 20s --compare

bench-growth: build ## growth: yima bench on stores preloaded with 0, 1M and 10M redeemed codes, plot to bench-growth.svg (about 15 min on 2 cores, 5 GB of disk in TMPDIR)
	$(BIN) bench --duration 20s --campaign=false --floor-records 3 --preload 0,1M,10M --plot bench-growth.svg --json bench-growth.json

bench-growth-50m: build ## growth: the empty store, then 50M redeemed codes kept in TMPDIR/yima-growth-50m (the first run fills it: about an hour, 25 GB; later runs of the same build reuse it)
	$(BIN) bench --duration 20s --campaign=false --floor-records 3 --no-server-audit --preload 0,50M --preload-dir $${TMPDIR:-/tmp}/yima-growth-50m --plot bench-growth-50m.svg --json bench-growth-50m.json

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

lint: ## vet, gofmt check, the import rules and staticcheck
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -run TestImportRules .
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fuzz: ## run each fuzz target for 30s
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./codegen
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./codegen
	$(GO) test -run '^$$' -fuzz FuzzOneSymbol -fuzztime 30s ./codegen
	$(GO) test -run '^$$' -fuzz FuzzCMAC -fuzztime 30s ./codegen
	$(GO) test -run '^$$' -fuzz FuzzTagV2 -fuzztime 30s ./codegen

clean: ## remove build output and demo data
	rm -rf bin $(DEMO)
