# Quarry: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT   ?= swift
STORE   ?= .quarry
HOST    ?= 127.0.0.1
PORT    ?= 8080
CORPUS  ?= corpus
SIFT    ?= ../shared/datasets/ann/ngt-sift5k
export QUARRY_MODEL ?= $(CURDIR)/models/all-MiniLM-L6-v2
# LLM=local: `make run` also starts Gemma 3 270M under llama.cpp's server on 127.0.0.1:8081
# (scripts/llm-server.sh, installed into .llm/ on first use) and serves `answer: "llm"` with it.
LLM     ?=
LLM_CONFIG := .llm/quarry.json

QUARRY := .build/release/quarry

# Release builds use AVX2 and FMA when this machine has them: Swift on Linux otherwise targets
# baseline x86-64 (SSE2), which halves the speed of the SIMD distance and encoder kernels.
ifeq ($(shell uname -m),x86_64)
ifeq ($(shell grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo yes),yes)
RELEASE_FLAGS ?= -Xswiftc -target-cpu -Xswiftc haswell
endif
endif

# Rounds of the SIGKILL-during-index-save fault under `make chaos` (`make test` runs 2).
CHAOS_ROUNDS ?= 10

.PHONY: run test console-test console-screenshots fuzz chaos test-llm llm-server llm-stop bench-llm deps deps-run model build ingest serve bench-embed bench-ann clean

## run: install what is missing, fetch the model, build, ingest corpus/, serve on $(HOST):$(PORT);
## with LLM=local, also start the local chat model first (scripts/llm-server.sh)
run: deps-run model build ingest $(if $(filter local,$(LLM)),llm-server) serve

## test: the full test suite (installs what is missing and fetches the model first); the crash
## test kills the release `quarry` binary, so it is built first; the pgvector backend's tests use
## a PostgreSQL 16 + pgvector started for the run and stopped after it; then the web console in
## headless Chromium (scripts/console-tests.sh); then schemathesis over /openapi.json against the
## release binary, 30 examples per operation (scripts/schemathesis.sh)
test: deps model build
	scripts/with-test-postgres.sh env QUARRY_BIN=$(CURDIR)/$(QUARRY) $(SWIFT) test
	QUARRY_BIN=$(CURDIR)/$(QUARRY) scripts/console-tests.sh
	QUARRY_BIN=$(CURDIR)/$(QUARRY) scripts/schemathesis.sh

## console-test: the web console's browser tests alone (also part of `make test`; docs/console.md)
console-test: deps model build
	QUARRY_BIN=$(CURDIR)/$(QUARRY) scripts/console-tests.sh

## console-screenshots: the browser tests, then the screenshots they took copied into docs/images/
console-screenshots: deps model build
	QUARRY_BIN=$(CURDIR)/$(QUARRY) scripts/console-tests.sh --update-screenshots

## fuzz: schemathesis over /openapi.json at more examples per operation than `make test` runs
## (FUZZ_EXAMPLES, default 300; see docs/operations.md, "API fuzzing")
FUZZ_EXAMPLES ?= 300
fuzz: deps model build
	EXAMPLES=$(FUZZ_EXAMPLES) QUARRY_BIN=$(CURDIR)/$(QUARRY) scripts/schemathesis.sh

## chaos: the fault tests alone (also part of `make test`), the index-save kills repeated
## $(CHAOS_ROUNDS) times: SIGKILL during jobs and index saves, damaged index files, the LLM server
## killed mid-stream, a full disk and read-only media (both need root), PostgreSQL restarted under
## a node, two nodes on one database (see docs/operations.md#faults-and-recovery)
chaos: deps model build
	scripts/with-test-postgres.sh env QUARRY_BIN=$(CURDIR)/$(QUARRY) QUARRY_CHAOS_ROUNDS=$(CHAOS_ROUNDS) \
		$(SWIFT) test --filter 'ChaosTests|PostgresRestartTests|TwoNodeTests'

# deps: everything, the tests' tools included; deps-run: only what building and serving need
deps:
	@scripts/install-deps.sh test

deps-run:
	@scripts/install-deps.sh run

model:
	@scripts/fetch-model.sh "$(QUARRY_MODEL)"

build:
	$(SWIFT) build -c release --product quarry $(RELEASE_FLAGS)

# SciFact's queries and relevance judgements are benchmark data, not documents.
INGEST_FLAGS ?= --exclude 'scifact/queries.jsonl'

ingest: build
	@# exit status 2 means some files could not be read: they are reported, the rest is served
	$(QUARRY) ingest $(CORPUS) --store $(STORE) $(INGEST_FLAGS) || [ $$? -eq 2 ]

serve: build
	$(QUARRY) serve --store $(STORE) --host $(HOST) --port $(PORT) $(if $(filter local,$(LLM)),--config $(LLM_CONFIG))

## llm-server: install (first time: builds llama.cpp, several minutes) and start the local chat
## model on 127.0.0.1:8081, idempotently; writes $(LLM_CONFIG), the llm section that points at it
llm-server:
	@scripts/llm-server.sh start >/dev/null

llm-stop:
	@scripts/llm-server.sh stop

## test-llm: the end-to-end tests against the real local model (not part of `make test`: the
## first run builds llama.cpp); the server is left running (`make llm-stop` stops it)
test-llm: deps model build llm-server
	QUARRY_LLM_URL=$$(scripts/llm-server.sh status) QUARRY_BIN=$(CURDIR)/$(QUARRY) $(SWIFT) test --filter LocalLLMTests

## bench-llm: time to first token, tokens/s and the answer checks with the local model
## (see docs/benchmarks.md)
bench-llm: deps model build llm-server
	Benchmarks/llm/run.sh

## bench-embed: embedding throughput against sentence-transformers (see docs/benchmarks.md)
bench-embed: deps model build
	Benchmarks/embedding/compare.sh

## bench-ann: HNSW against hnswlib on SIFT 5k (see docs/benchmarks.md for the other data sets)
bench-ann: build
	Benchmarks/ann/compare.sh sift5k $(SIFT)/base.fvecs $(SIFT)/query.fvecs $(SIFT)/groundtruth.ivecs l2

clean:
	rm -rf .build $(STORE)
