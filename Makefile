# Quarry: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT   ?= swift
STORE   ?= .quarry
HOST    ?= 127.0.0.1
PORT    ?= 8080
CORPUS  ?= corpus
SIFT    ?= ../shared/datasets/ann/ngt-sift5k
export QUARRY_MODEL ?= $(CURDIR)/models/all-MiniLM-L6-v2

QUARRY := .build/release/quarry

# Release builds use AVX2 and FMA when this machine has them: Swift on Linux otherwise targets
# baseline x86-64 (SSE2), which halves the speed of the SIMD distance and encoder kernels.
ifeq ($(shell uname -m),x86_64)
ifeq ($(shell grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo yes),yes)
RELEASE_FLAGS ?= -Xswiftc -target-cpu -Xswiftc haswell
endif
endif

.PHONY: run test deps model build ingest serve bench-embed bench-ann clean

## run: install what is missing, fetch the model, build, ingest corpus/, serve on $(HOST):$(PORT)
run: deps model build ingest serve

## test: the full test suite (installs what is missing and fetches the model first); the crash
## test kills the release `quarry` binary, so it is built first; the pgvector backend's tests use
## a PostgreSQL 16 + pgvector started for the run and stopped after it
test: deps model build
	scripts/with-test-postgres.sh env QUARRY_BIN=$(CURDIR)/$(QUARRY) $(SWIFT) test

deps:
	@scripts/install-deps.sh

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
	$(QUARRY) serve --store $(STORE) --host $(HOST) --port $(PORT)

## bench-embed: embedding throughput against sentence-transformers (see docs/benchmarks.md)
bench-embed: deps model build
	Benchmarks/embedding/compare.sh

## bench-ann: HNSW against hnswlib on SIFT 5k (see docs/benchmarks.md for the other data sets)
bench-ann: build
	Benchmarks/ann/compare.sh sift5k $(SIFT)/base.fvecs $(SIFT)/query.fvecs $(SIFT)/groundtruth.ivecs l2

clean:
	rm -rf .build $(STORE)
