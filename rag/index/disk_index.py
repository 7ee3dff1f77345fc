"""An index served from disk: FAISS IVF-PQ (inverted lists memory-mapped) re-ranked exactly from float rows read with pread."""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np

# 48 sub-quantizers of 8 dimensions, 8 bits each: 48 bytes per 384-d vector (1.5 KB as float32), 32x less.
# The codes only choose a short list; the order returned comes from the exact vectors (re-rank), so PQ's
# error costs recall only where a true top-k row falls out of the short list.
PQ_SUBVECTOR_DIMS = 8
PQ_BITS = 8
# Rows re-ranked exactly, at least (more for a large k). On 2M clustered vectors (nprobe 64), re-ranking 100
# gave recall@10 0.941 at 2.75 ms p50, 200 gave 0.972 at 2.94 ms, 300 0.983 at 3.24 ms: true neighbours the
# PQ codes rank 100th-200th are common, and a row costs ~2 microseconds to read and score.
RERANK_MIN = 200
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


class RowFile:
    """The rows of a 2-D .npy file, read on demand with os.pread into memory the caller owns.

    Why not index the memory map: every page a memory map's reader touches joins the process's resident set,
    with the kernel's fault-around mapping up to 16 neighbouring cached pages besides, so at 2M vectors a few
    hundred queries left 2.8 GB resident. A pread copies just the rows asked for and maps nothing. Not a frozen
    dataclass: it owns an open file, closed when it is collected."""

    def __init__(self, path: str | Path, offset: int, shape: tuple[int, int], dtype: np.dtype):
        self.path, self.offset, self.shape, self.dtype = str(path), int(offset), shape, np.dtype(dtype)
        self.row_bytes = shape[1] * self.dtype.itemsize
        # held open, as the map was: a build removed meanwhile stays readable until this object goes
        self.fd = os.open(self.path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)
        if hasattr(os, "posix_fadvise"):  # one 1.5 KB row per read: the kernel's read-ahead would only fill cache
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_RANDOM)

    @classmethod
    def of(cls, array: np.ndarray) -> "RowFile | None":
        """A reader for a whole 2-D .npy file opened with np.load(mmap_mode="r"), else None (an array in
        memory, or a map of part of a file, is indexed as it is)."""
        path = getattr(array, "filename", None)
        if not isinstance(array, np.memmap) or not path or array.ndim != 2 or not array.flags.c_contiguous:
            return None
        whole = np.load(path, mmap_mode="r", allow_pickle=False)  # the file's own header (maps, reads nothing)
        if whole.shape != array.shape or whole.dtype != array.dtype or whole.offset != array.offset:
            return None  # a slice or a view of the file, not the file
        return cls(path, whole.offset, whole.shape, whole.dtype)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows numbered `rows` (ascending), one pread per run of consecutive rows."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        if not len(rows):
            return out
        if rows[0] < 0 or rows[-1] >= self.shape[0] or np.any(np.diff(rows) <= 0):
            raise ValueError("rows must be ascending, unique and inside the file")
        buffer = memoryview(out).cast("B")
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for first, end in zip(np.concatenate([[0], breaks]).tolist(), np.concatenate([breaks, [len(rows)]]).tolist()):
            view = buffer[first * self.row_bytes : end * self.row_bytes]
            position = self.offset + int(rows[first]) * self.row_bytes
            while len(view):
                done = os.preadv(self.fd, [view], position)
                if done <= 0:
                    raise OSError(f"{self.path} ends before row {rows[-1]}")
                view, position = view[done:], position + done
        return out


def exact_rows(vectors: np.ndarray, reader: RowFile | None, rows: np.ndarray) -> np.ndarray:
    """Rows of `vectors` as float32: through the reader when there is one, else by indexing."""
    return np.asarray(reader.rows(rows) if reader is not None else vectors[rows], dtype=np.float32)


def rerank_search(
    index, vectors: np.ndarray, query: np.ndarray, k: int, reader: RowFile | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, exact scores), best first: the IVF-PQ short list re-scored against the float vectors, read
    with `reader` (RowFile.of(vectors)) when given, so only the short list's rows are read and none mapped."""
    count = int(index.ntotal)
    _, candidates = index.search(query.reshape(1, -1), shortlist_size(k, count))
    rows = np.unique(candidates[0][candidates[0] >= 0])  # sorted: the reads go through the file in order
    if not len(rows):
        return rows, np.zeros(0, dtype=np.float32)
    scores = exact_rows(vectors, reader, rows) @ query.reshape(-1)
    order = np.lexsort((rows, -scores))[:k]  # best first, ties by row
    return rows[order], scores[order]
