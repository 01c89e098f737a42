#!/usr/bin/env python3
"""The peer: sentence-transformers on PyTorch CPU, same model, same passages, same threads.

Embeds the first N passages (title + " " + text) of a BEIR corpus.jsonl in batches of each size,
in file order, one `encode` call per batch (as `quarry bench embed` does), and prints JSON.
"""
import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--passages", required=True)
    parser.add_argument("--limit", type=int, default=512)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    texts = []
    with open(args.passages, encoding="utf-8") as f:
        for line in f:
            if len(texts) >= args.limit:
                break
            doc = json.loads(line)
            texts.append(" ".join(part for part in (doc.get("title"), doc.get("text")) if part))

    model = SentenceTransformer(args.model, device="cpu")
    model.max_seq_length = 256
    pieces = sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=256)["input_ids"])
    model.encode(texts[:32], batch_size=32)  # warm-up

    rows = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        start = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            model.encode(texts[i:i + batch_size], batch_size=batch_size, convert_to_numpy=True)
        seconds = time.perf_counter() - start
        rows.append({
            "batch_size": batch_size, "passages": len(texts), "word_pieces": pieces, "seconds": seconds,
            "word_pieces_per_s": pieces / seconds, "passages_per_s": len(texts) / seconds,
        })
    print(json.dumps({
        "peer": "sentence-transformers", "torch": torch.__version__, "threads": args.threads, "rows": rows,
    }))


if __name__ == "__main__":
    main()
