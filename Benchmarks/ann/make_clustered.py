#!/usr/bin/env python3
"""Seeded synthetic clustered vectors (cosine), the shape of sentence embeddings: Gaussian blobs
around random centres, unit-normalised. Writes BASE.fvecs and QUERY.fvecs.

Usage: make_clustered.py OUT_DIR [COUNT=200000] [QUERIES=1000] [DIM=384] [SEED=42]
"""
import os
import sys

import numpy as np


def write_fvecs(path, x):
    x = np.asarray(x, dtype=np.float32)
    header = np.full((len(x), 1), x.shape[1], dtype=np.int32)
    np.hstack([header.view(np.float32), x]).tofile(path)


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    queries = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000
    dim = int(sys.argv[4]) if len(sys.argv) > 4 else 384
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 42
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    clusters = max(10, count // 1000)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)

    def points(n):
        c = rng.integers(0, clusters, size=n)
        x = centres[c] + 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    write_fvecs(f"{out}/base.fvecs", points(count))
    write_fvecs(f"{out}/query.fvecs", points(queries))


if __name__ == "__main__":
    main()
