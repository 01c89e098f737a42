# Quarry: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT   ?= swift
STORE   ?= .quarry
HOST    ?= 127.0.0.1
PORT    ?= 8080
CORPUS  ?= corpus
export QUARRY_MODEL ?= $(CURDIR)/models/all-MiniLM-L6-v2

QUARRY := .build/release/quarry

.PHONY: run test deps model build ingest serve bench-embed clean

## run: install what is missing, fetch the model, build, ingest corpus/, serve on $(HOST):$(PORT)
run: deps model build ingest serve

## test: the full test suite (installs what is missing and fetches the model first)
test: deps model
	$(SWIFT) test

deps:
	@scripts/install-deps.sh

model:
	@scripts/fetch-model.sh "$(QUARRY_MODEL)"

build:
	$(SWIFT) build -c release --product quarry

ingest: build
	@# exit status 2 means some files could not be read: they are reported, the rest is served
	$(QUARRY) ingest $(CORPUS) --store $(STORE) || [ $$? -eq 2 ]

serve: build
	$(QUARRY) serve --store $(STORE) --host $(HOST) --port $(PORT)

## bench-embed: embedding throughput against sentence-transformers (see docs/benchmarks.md)
bench-embed: deps model build
	Benchmarks/embedding/compare.sh

clean:
	rm -rf .build $(STORE)
