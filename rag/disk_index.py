"""An index served from disk: FAISS IVF-PQ (inverted lists memory-mapped) plus an exact re-rank of its short
list from memory-mapped float vectors, so serving memory is a small share of the raw vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# 48 sub-quantizers of 8 dimensions, 8 bits each: 48 bytes per 384-d vector (1.5 KB as float32), 32x less.
# The codes only choose a short list; the order returned comes from the exact vectors (re-rank), so PQ's
# error costs recall only where a true top-k row falls out of the short list.
PQ_SUBVECTOR_DIMS = 8
PQ_BITS = 8
RERANK_MIN = 100  # rows re-ranked exactly, at least; more for a large k
RERANK_FACTOR = 4
MIN_PQ_TRAIN_POINTS = 39 * 2**PQ_BITS  # FAISS's k-means wants >= 39 points per centroid of each sub-quantizer
ADD_CHUNK = 100_000  # vectors added at a time: a memory-mapped source is never read whole into memory


def pq_subquantizers(dimension: int) -> int:
    """Sub-quantizers for a dimension: one per PQ_SUBVECTOR_DIMS dimensions, the largest divisor of it."""
    m = max(1, dimension // PQ_SUBVECTOR_DIMS)
    while dimension % m:
        m -= 1
    return m


def shortlist_size(k: int, count: int) -> int:
    return min(count, max(RERANK_MIN, RERANK_FACTOR * k))


def build_ivfpq(faiss, vectors: np.ndarray, lists: int, train_points: int, nprobe: int):
    """IVF-PQ over inner product, trained on an evenly drawn sample, filled a chunk at a time."""
    count, dimension = vectors.shape
    bits = PQ_BITS if count >= 2**PQ_BITS else max(1, count.bit_length() - 1)  # k-means needs a point per code
    index = faiss.IndexIVFPQ(
        faiss.IndexFlatIP(dimension), dimension, lists, pq_subquantizers(dimension), bits, faiss.METRIC_INNER_PRODUCT
    )
    train_points = max(train_points, MIN_PQ_TRAIN_POINTS)
    sample_rows = np.sort(np.random.default_rng(0).choice(count, min(count, train_points), replace=False))
    index.train(np.ascontiguousarray(vectors[sample_rows], dtype=np.float32))
    for start in range(0, count, ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + ADD_CHUNK], dtype=np.float32))
    index.nprobe = max(1, min(nprobe, lists))
    return index


IVFPQ_FOURCCS = (b"IwPQ", b"IvPQ")  # how faiss write_index opens an IndexIVFPQ file (now, and before)


def is_ivfpq_file(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in IVFPQ_FOURCCS


def read_mapped(faiss, path: Path):
    """The index with its inverted lists memory-mapped from the file (faiss turns them into
    OnDiskInvertedLists): the OS pages in the lists a query probes, and nothing else."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def rerank_search(index, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, exact scores), best first: the IVF-PQ short list re-scored against the float vectors.

    `vectors` may be a read-only memory map (np.load(mmap_mode="r")): only the short list's rows are read."""
    count = int(index.ntotal)
    _, candidates = index.search(query.reshape(1, -1), shortlist_size(k, count))
    rows = np.unique(candidates[0][candidates[0] >= 0])  # sorted: the reads go through the file in order
    if not len(rows):
        return rows, np.zeros(0, dtype=np.float32)
    scores = np.asarray(vectors[rows], dtype=np.float32) @ query.reshape(-1)
    order = np.lexsort((rows, -scores))[:k]  # best first, ties by row
    return rows[order], scores[order]
