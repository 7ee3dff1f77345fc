"""Dense vectors searched: FAISS flat, IVF and IVF-PQ indexes, and the scored rows every search returns."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.types import Passage, ScoredRow

# Below this many vectors search is exact (flat): a scan of 20k vectors takes < 1 ms here; above it, IVF.
# 1M vectors: flat ~115 ms per query, IVF (nprobe 64) ~2.5 ms at recall@10 0.995 (docs/BENCHMARKS.md).
FLAT_BELOW = 20_000
IVF_LISTS_PER_SQRT = 4  # nlist = 4 sqrt(n): 4,000 lists for 1M vectors (FAISS's guidance: 4-16 sqrt(n))
IVF_PROBES = 64  # recall@10 >= 0.95 from 20k to 1M vectors in the benchmark, at 0.2-2.5 ms
MIN_POINTS_PER_LIST = 39  # FAISS's k-means wants at least this many training points per centroid
TRAIN_POINTS_PER_LIST = 50
# One OpenMP thread per search: the app serves one question per request thread, and FAISS's spinning
# OpenMP workers otherwise fight the embedder's threads for the 2 cores (measured: ask() p50 383 ms with
# FAISS at 2 threads beside torch, 9 ms at 1). Builds (k-means, adding) use every core meanwhile.
SEARCH_THREADS = 1
# From this many vectors "auto" serves from disk: IVF-PQ with memory-mapped lists and an exact re-rank from
# memory-mapped vectors (rag.index.disk_index). A million float32 384-d vectors are 1.5 GB of RAM in memory.
DISK_FROM = 1_000_000
VECTOR_KINDS = ("auto", "flat", "ivf", "ivfpq")
DISK_KINDS = frozenset({"ivfpq"})  # the kinds served from disk (memory-mapped files)
DENSE_INDEX_ENV = "RAG_DENSE_INDEX"

_FAISS = None


def import_faiss():
    """faiss, with its OpenMP thread count set for serving (once per process)."""
    global _FAISS
    if _FAISS is None:
        import faiss

        faiss.omp_set_num_threads(SEARCH_THREADS)
        _FAISS = faiss
    return _FAISS


@contextmanager
def build_threads():
    """Every core for FAISS while building (k-means, assignment), back to SEARCH_THREADS afterwards. The
    setting is per process: a search running meanwhile may use two threads, which is slower, not wrong."""
    faiss = import_faiss()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    faiss.omp_set_num_threads(max(1, cores))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(SEARCH_THREADS)


def choose_kind(count: int, kind: str = "auto", flat_below: int = FLAT_BELOW, disk_from: int = DISK_FROM) -> str:
    """Flat below `flat_below` vectors, IVF up to `disk_from`, IVF-PQ from disk from there on, unless a kind
    is asked for; empty is always flat."""
    if kind not in VECTOR_KINDS:
        raise ValueError(f"kind must be one of {VECTOR_KINDS}")
    if count == 0:
        return "flat"
    if kind == "auto":
        return "flat" if count < flat_below else "ivf" if count < disk_from else "ivfpq"
    return kind


def resolve_dense_kind(kind: str | None = None) -> str:
    """The argument, else $RAG_DENSE_INDEX, else "auto"."""
    chosen = (kind or os.environ.get(DENSE_INDEX_ENV) or "auto").strip().lower()
    if chosen not in VECTOR_KINDS:
        raise ValueError(f"dense index must be one of {VECTOR_KINDS}, not {chosen!r}")
    return chosen


def ivf_lists(count: int) -> int:
    return max(1, min(int(IVF_LISTS_PER_SQRT * count**0.5), count // MIN_POINTS_PER_LIST))


class VectorIndex:
    """Inner-product search over L2-normalised vectors (cosine similarity), backed by FAISS: exact (flat) for
    small corpora, an inverted file (IVF-Flat, k-means lists, `nprobe` of them searched) for large ones, and
    IVF-PQ re-ranked exactly from the (memory-mapped) vectors for those served from disk."""

    def __init__(
        self,
        vectors: np.ndarray,
        kind: str = "auto",
        flat_below: int = FLAT_BELOW,
        nprobe: int = IVF_PROBES,
        disk_from: int = DISK_FROM,
    ):
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-D array")
        self.dimension = int(vectors.shape[1])
        self.kind = choose_kind(len(vectors), kind, flat_below, disk_from)
        self._vectors = self._reader = None  # the exact vectors of an IVF-PQ index's re-rank, and their file
        if self.kind == "ivfpq":  # vectors may be a memory map: read a chunk at a time, never copied whole
            from rag.index.disk_index import RowFile, build_ivfpq

            lists = ivf_lists(len(vectors))
            with build_threads():
                self._index = build_ivfpq(import_faiss(), vectors, lists, lists * TRAIN_POINTS_PER_LIST, nprobe)
            self._vectors, self._reader = vectors, RowFile.of(vectors)
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == "flat":
            self._index = import_faiss().IndexFlatIP(self.dimension)
            self._index.add(vectors)
        else:
            self._index = self._build_ivf(vectors, nprobe)

    def _build_ivf(self, vectors: np.ndarray, nprobe: int):
        faiss = import_faiss()
        lists = ivf_lists(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dimension), self.dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample_size = min(len(vectors), lists * TRAIN_POINTS_PER_LIST)
        sample = vectors[np.sort(np.random.default_rng(0).choice(len(vectors), sample_size, replace=False))]
        with build_threads():
            index.train(sample)
            index.add(vectors)
        index.nprobe = max(1, min(nprobe, lists))  # saved with the index by write_index
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[ScoredRow]:
        """The k best rows for one query vector, best first (approximate for an IVF index)."""
        k = min(k, len(self))
        if k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dimension:
            raise ValueError(f"query has dimension {query.shape[1]}, index has {self.dimension}")
        if self.kind == "ivfpq":
            from rag.index.disk_index import rerank_search

            found, exact = rerank_search(self._index, self._vectors, query, k, self._reader)
            return [ScoredRow(int(r), float(s)) for r, s in zip(found, exact)]
        scores, rows = self._index.search(query, k)
        return [ScoredRow(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def save(self, path: Path) -> None:
        import_faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, vectors: np.ndarray | None = None) -> "VectorIndex":
        """A saved index. IVF-PQ is read with its lists memory-mapped, and needs the exact `vectors` for its
        re-rank: a memory map of their .npy file (np.load(mmap_mode="r")) is read row by row with pread."""
        from rag.index.disk_index import RowFile, is_ivfpq_file, read_mapped

        faiss = import_faiss()
        if is_ivfpq_file(path):  # never read whole: its lists stay on disk
            index = read_mapped(faiss, path)
            if vectors is None or len(vectors) != index.ntotal:
                raise ValueError("an IVF-PQ index needs its exact vectors for the re-rank")
            kind = "ivfpq"
        else:
            index = faiss.read_index(str(path))
            kind = "ivf" if isinstance(index, faiss.IndexIVF) else "flat"
        self = cls.__new__(cls)
        self._index, self.dimension, self.kind, self._vectors = index, int(index.d), kind, vectors
        self._reader = RowFile.of(vectors) if kind == "ivfpq" else None
        return self

    # Updates for rag.index.incremental: each returns a new index and leaves this one as it is, so searches
    # running on it meanwhile stay valid. An IVF index keeps its trained lists (no k-means again).

    @property
    def extendable(self) -> bool:
        """Whether `extended` and `without_rows` can copy this index: not one served from disk, whose
        memory-mapped inverted lists faiss cannot clone (a full build replaces it instead)."""
        return self.kind not in DISK_KINDS

    def extended(self, vectors: np.ndarray, passages: Sequence[Passage] = ()) -> "VectorIndex":
        """A copy with `vectors` appended as rows len(self), len(self) + 1, … (`passages` are for stores that
        keep a payload, as Milvus does; FAISS keeps vectors only)."""
        copy = import_faiss().clone_index(self._index)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors):
            copy.add(vectors)
        return self._with(copy)

    def without_rows(self, keep: np.ndarray, kept_vectors: np.ndarray) -> "VectorIndex":
        """A copy without the rows where `keep` is false, the others renumbered in order. A flat index shifts
        its rows itself; an IVF index's remaining ids are renumbered in place, list by list (milliseconds,
        where adding the vectors again costs seconds at 100,000); any other layout is refilled."""
        faiss = import_faiss()
        keep = np.asarray(keep, dtype=bool)
        gone = np.flatnonzero(~keep).astype(np.int64)
        if self.kind == "ivf":
            copy = faiss.clone_index(self._index)
            lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(copy).invlists)
            if not isinstance(lists, faiss.ArrayInvertedLists):
                return self.refilled(kept_vectors)
        else:
            copy = faiss.clone_index(self._index)
            lists = None
        if len(gone):
            copy.remove_ids(faiss.IDSelectorBatch(len(gone), faiss.swig_ptr(gone)))
        if lists is not None:
            new_row = np.cumsum(keep) - 1
            for number in range(lists.nlist):
                size = lists.list_size(number)
                if size:
                    ids = faiss.rev_swig_ptr(lists.get_ids(number), size)
                    ids[:] = new_row[ids]
        return self._with(copy)

    def refilled(self, vectors: np.ndarray) -> "VectorIndex":
        """A copy of this index's structure holding exactly `vectors` (after rows were removed)."""
        copy = import_faiss().clone_index(self._index)
        copy.reset()
        with build_threads():
            copy.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return self._with(copy)

    def _with(self, index) -> "VectorIndex":
        other = type(self).__new__(type(self))
        other._index, other.dimension, other.kind = index, self.dimension, self.kind
        other._vectors, other._reader = self._vectors, self._reader
        return other
