"""Synthetic vectors, their exact neighbours, and one index searched and scored the same way by every serving bench."""

from __future__ import annotations

import statistics
import time
from typing import Sequence

import numpy as np

from rag.bench.common import ms, peak_rss_mb, resident_mb, timed


def synthetic_vectors(base: np.ndarray, count: int, seed: int, chunk: int = 100_000, out: np.ndarray | None = None) -> np.ndarray:
    """Clustered vectors shaped like real embeddings: a random convex mix of two real passage vectors
    (weights 0.5-1 / 0-0.5) plus small isotropic noise, normalised, so they crowd around the real ones and
    between them. Uniform random vectors would be no test at all: in 384 dimensions they have no
    neighbourhoods for an index to exploit or to miss. `out` (e.g. a memory-mapped .npy) receives them."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((count, dim), dtype=np.float32) if out is None else out
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
        w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
        mixed = w * base[a] + (1 - w) * base[b] + 0.25 * rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
        out[start : start + n] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int = 200_000) -> np.ndarray:
    """Brute-force top-k rows by inner product: each chunk's top k, then the best k of those (numpy only,
    so the truth does not come from the library under test, and no second copy of the vectors)."""
    rows, scores = [], []
    for start in range(0, len(vectors), chunk):
        block = queries @ np.asarray(vectors[start : start + chunk]).T
        kk = min(k, block.shape[1])
        top = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
        rows.append(top + start)
        scores.append(np.take_along_axis(block, top, 1))
    rows_all, scores_all = np.hstack(rows), np.hstack(scores)
    order = np.argsort(-scores_all, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(rows_all, order, 1)


def recall_at_k(found: Sequence[Sequence[int]], vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Share of the exact top k an index found, a row scoring as high as the exact k-th counting as found:
    the recombined corpus has duplicate passages, and which of equal vectors comes back is arbitrary."""
    shares = []
    for rows, query, top in zip(found, queries, truth):
        kth = float(vectors[top[k - 1]] @ query)
        scores = np.asarray(vectors[np.asarray(list(rows)[:k], dtype=np.int64)]) @ query
        shares.append(min(k, int(np.sum(scores >= kth - 1e-5))) / k)
    return float(np.mean(shares))


def search_all(index, queries: np.ndarray) -> tuple[list[float], list[list[int]], float]:
    """Per-query seconds, the rows found, and CPU seconds per query (every thread of the process)."""
    for q in queries[:10]:  # warm-up
        index.search(q, 10)
    times, found = [], []
    cpu = time.process_time()
    for q in queries:
        seconds, hits = timed(index.search, q, 10)
        times.append(seconds)
        found.append([h.row for h in hits])
    return times, found, (time.process_time() - cpu) / len(queries)


def served(index, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Search every query; memory is read before recall is worked out, since that reads the found rows
    through the memory map and would add their pages to the process's."""
    times, found, cpu = search_all(index, queries)
    memory = {"rss_mb": resident_mb(), "peak_rss_mb": peak_rss_mb()}
    recall = recall_at_k(found, vectors, queries, truth[:, :10], 10)
    return {"p50_ms": ms(statistics.median(times)), "recall": recall, "cpu_ms": ms(cpu)} | memory
