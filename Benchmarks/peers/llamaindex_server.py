#!/usr/bin/env python3
"""The peer of issue 16: LlamaIndex hybrid retrieval over SciFact behind FastAPI/uvicorn.

What a user would build with LlamaIndex 0.14's defaults: one `Document` per SciFact abstract
("title" + blank line + "text", the BEIR id as the document id), the default node parser
(`SentenceSplitter`, 1,024 tokens, 200 overlap), the default in-memory vector store, the
embedding model all-MiniLM-L6-v2 through `HuggingFaceEmbedding` (sentence-transformers on
PyTorch CPU), a `BM25Retriever` (bm25s, English stemmer and stop words), and the two fused by
reciprocal rank (`QueryFusionRetriever`, mode "reciprocal_rerank", k = 60, no LLM query
rewriting: `num_queries=1`). Each retriever and the fusion return `top_k` nodes.

The index is built once and persisted (PEERS_INDEX, default .bench/peers-llamaindex), so reruns
load it in seconds. Three ways to run it:

    uvicorn llamaindex_server:app --app-dir Benchmarks/peers --workers 1   # POST /search
    python llamaindex_server.py build                                        # build / load only
    python llamaindex_server.py inprocess --queries Q.jsonl --seconds 20     # no HTTP

POST /search {"query": str, "top_k": int = 10} answers
{"hits": [{"rank", "id", "node_id", "score"}], "took_ms"}, `id` being the SciFact document id.
Everything is read offline (HF_HUB_OFFLINE=1): the model from its local folder.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[2]
MODEL = os.environ.get("PEERS_MODEL", str(ROOT / "models" / "all-MiniLM-L6-v2"))
CORPUS = os.environ.get("PEERS_CORPUS", str(ROOT / "corpus" / "scifact" / "corpus.jsonl"))
INDEX = os.environ.get("PEERS_INDEX", str(ROOT / ".bench" / "peers-llamaindex"))

from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core import load_index_from_storage  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.retrievers import QueryFusionRetriever  # noqa: E402
from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: E402
from llama_index.retrievers.bm25 import BM25Retriever  # noqa: E402


def log(message):
    print(f"peer: {message}", file=sys.stderr, flush=True)


def load_documents(path):
    documents = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            text = "\n\n".join(part for part in (doc.get("title"), doc.get("text")) if part)
            documents.append(Document(text=text, id_=str(doc["_id"])))
    return documents


def load_or_build(index_dir=INDEX, model=MODEL, corpus=CORPUS):
    """The vector index and the BM25 retriever, built once and then loaded from `index_dir`."""
    Settings.embed_model = HuggingFaceEmbedding(model_name=model, device="cpu")
    Settings.llm = MockLLM()  # no LLM anywhere: fusion does not rewrite queries (num_queries=1)
    vector_dir, bm25_dir = Path(index_dir) / "vector", Path(index_dir) / "bm25"
    if not ((vector_dir / "docstore.json").exists() and (bm25_dir / "retriever.json").exists()):
        build(vector_dir, bm25_dir, corpus)
    # Loaded from disk also right after a build: a BM25Retriever sharing its bm25s index
    # (one per top_k, below) needs the corpus that only a loaded index carries.
    start = time.perf_counter()
    index = load_index_from_storage(StorageContext.from_defaults(persist_dir=str(vector_dir)))
    bm25 = BM25Retriever.from_persist_dir(str(bm25_dir))
    log(f"loaded {len(index.docstore.docs)} nodes from {index_dir} in {time.perf_counter() - start:.1f} s")
    return index, bm25


def build(vector_dir, bm25_dir, corpus):
    documents = load_documents(corpus)
    log(f"building the index of {len(documents)} documents (embedding them takes a few minutes)")
    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents)
    nodes = list(index.docstore.docs.values())
    bm25 = BM25Retriever.from_defaults(nodes=nodes)
    vector_dir.mkdir(parents=True, exist_ok=True)
    index.storage_context.persist(persist_dir=str(vector_dir))
    bm25.persist(str(bm25_dir))
    log(f"built {len(nodes)} nodes in {time.perf_counter() - start:.1f} s, persisted to {vector_dir.parent}")


class HybridSearch:
    """Vector + BM25 fused by reciprocal rank, as LlamaIndex's QueryFusionRetriever does it."""

    def __init__(self, index, bm25):
        self.index = index
        self.bm25 = bm25
        self._retrievers = {}

    def retriever(self, top_k):
        # Retrievers hold their top_k; one per distinct top_k, built on first use.
        if top_k not in self._retrievers:
            vector = self.index.as_retriever(similarity_top_k=top_k)
            bm25 = BM25Retriever(existing_bm25=self.bm25.bm25, similarity_top_k=top_k)
            self._retrievers[top_k] = QueryFusionRetriever(
                [vector, bm25], mode="reciprocal_rerank", similarity_top_k=top_k,
                num_queries=1, use_async=False)
        return self._retrievers[top_k]

    def search(self, query, top_k=10):
        hits = self.retriever(top_k).retrieve(query)
        return [{"rank": i + 1, "id": hit.node.ref_doc_id, "node_id": hit.node.node_id, "score": hit.score}
                for i, hit in enumerate(hits)]


def make_app():
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    class SearchRequest(BaseModel):
        query: str = Field(min_length=1)
        top_k: int = Field(default=10, ge=1, le=100)

    search = HybridSearch(*load_or_build())
    search.search("warm up", 10)
    app = FastAPI(title="LlamaIndex SciFact search")

    @app.get("/health")
    def health():
        return {"status": "ok"}

    # A plain `def`: FastAPI runs it on its thread pool, as its docs advise for blocking work.
    @app.post("/search")
    def post_search(request: SearchRequest):
        start = time.perf_counter()
        hits = search.search(request.query, request.top_k)
        return {"query": request.query, "hits": hits, "took_ms": (time.perf_counter() - start) * 1000}

    return app


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def in_process(args):
    """The same retrieval without HTTP: the queries cycled one at a time for `seconds`."""
    queries = [json.loads(line)["query"] for line in open(args.queries, encoding="utf-8") if line.strip()]
    search = HybridSearch(*load_or_build())
    for query in queries[:20]:  # warm-up
        search.search(query, args.top_k)
    times = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < args.seconds:
        t0 = time.perf_counter()
        search.search(queries[i % len(queries)], args.top_k)
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
    seconds = time.perf_counter() - start
    import torch
    report = {
        "queries": len(times), "distinct_queries": len(queries), "seconds": seconds,
        "queries_per_second": len(times) / seconds, "mean_ms": statistics.fmean(times),
        "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "p99_ms": percentile(times, 99),
        "max_ms": max(times), "torch_threads": torch.get_num_threads(),
    }
    text = json.dumps(report)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the index (or load it) and exit")
    timed = sub.add_parser("inprocess", help="time the retrieval in process, one query at a time")
    timed.add_argument("--queries", required=True, help='JSON lines {"query": ...}')
    timed.add_argument("--seconds", type=float, default=20)
    timed.add_argument("--top-k", type=int, default=10)
    timed.add_argument("--json", help="write the report here too")
    args = parser.parse_args()
    if args.command == "build":
        load_or_build()
    else:
        in_process(args)


if __name__ == "__main__":
    main()
else:
    app = make_app()
