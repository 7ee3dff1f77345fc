"""Serving at scale: milvus-lite beside FAISS IVF at the same sizes, BM25 at scale, and SCALING.md's serving plan."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.bench.common import ScaleRun, Table, folder_bytes, ms, peak_rss_mb, resident_mb, timed, worker_json

SERVING_START, SERVING_END = "<!-- serving:start -->", "<!-- serving:end -->"
PLAN_SIZES = (20_000_000, 200_000_000)
NODE_CORES, NODE_MEMORY_GB = 16, 64  # an assumed node; every per-core figure is measured here
MEMORY_SHARE = 0.75  # of a node's memory for the index: the rest for the OS, the page cache, the app
BM25_SHARD_P50_MS = 50.0  # BM25 is split into shards of at most this much work, searched at once
TIMEOUT_S = 3 * 3600
DIMENSION = 384
LINEAR = 0.8  # a cost growing faster than n^0.8 with an IVF index behind it is a scan, not the index


@dataclass(frozen=True)
class LexicalRun:
    """BM25 (passages top 100 + sentences top 300) over a corpus tiled to `rows` passages, served memory-mapped."""

    rows: int
    sentences: int
    disk_mb: float
    rss_mb: float  # what loading and querying added to the process's resident memory
    p50_ms: float
    cpu_ms: float


# ---------------------------------------------------------------- milvus-lite (a child process each)


class FileRows:
    """Slices of a .npy file's first `count` rows, read with pread: inserting through a memory map would
    leave every vector page in the child's resident memory and blur what the engine itself holds."""

    def __init__(self, path: str, count: int):
        from rag.index.disk_index import RowFile

        self.reader = RowFile.of(np.load(path, mmap_mode="r"))
        self.shape = (count, self.reader.shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, part: slice) -> np.ndarray:
        return self.reader.rows(np.arange(*part.indices(len(self)), dtype=np.int64))


class StandInPassages:
    """Passages for `count` rows, made when sliced: the payload Milvus stores, without a corpus in memory."""

    def __init__(self, count: int):
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, part: slice) -> list:
        from rag.types import Passage

        return [Passage(i, f"article-{i // 50}", i % 50, 0, 0, "") for i in range(*part.indices(self.count))]


def milvus_worker(vectors_path: str, queries_path: str, truth_path: str, uri: str, rows: int) -> None:
    """In a child process: the first `rows` vectors into a new milvus-lite collection through the store's own
    code (IVF_FLAT at the FAISS index's lists and probes), then every query searched."""
    import os

    from rag.bench.search import served

    os.environ["RAG_MILVUS_URI"] = uri
    from rag.index.milvus_store import MilvusVectorIndex

    staging = Path(uri).parent / "milvus-staging"
    staging.mkdir(parents=True, exist_ok=True)
    seconds, index = timed(lambda: MilvusVectorIndex.create(staging, FileRows(vectors_path, rows), StandInPassages(rows), "ivf"))
    queries, truth = np.load(queries_path), np.load(truth_path)
    vectors = np.load(vectors_path, mmap_mode="r")
    print(json.dumps({"kind": f"milvus-lite {index.index_kind}", "vectors": rows, "build_seconds": seconds}
                     | served(index, vectors, queries, truth)))


def measure_milvus(vectors: Path, queries: Path, truth: Path, rows: int, workdir: Path) -> ScaleRun:
    folder = workdir / f"milvus-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    uri = folder / "milvus.db"
    cmd = [sys.executable, "-m", "rag.bench", "milvus-worker", str(vectors), str(queries), str(truth), str(uri), str(rows)]
    data = worker_json(cmd, TIMEOUT_S)
    disk = folder_bytes(folder)
    return ScaleRun.from_worker(data, disk)


# ---------------------------------------------------------------- BM25 at scale


def tiled(index, copies: int):
    """`copies` copies of a LexicalIndex one after another (rows numbered on): every term's document
    frequency scales with the corpus, so a query's postings, and its cost, grow as a real corpus's would."""
    from rag.index.lexical import LexicalIndex

    counts = np.diff(index.indptr)
    terms_of = np.repeat(np.arange(len(index.terms), dtype=np.int64), counts)
    order = np.argsort(np.tile(terms_of, copies), kind="stable")  # by term; copies, then rows, ascending within
    rows = (index.rows.astype(np.int64)[None, :] + index.size * np.arange(copies, dtype=np.int64)[:, None]).ravel()
    return LexicalIndex._from_parts(  # noqa: SLF001  the index's own constructor from arrays
        list(index.terms), index.indptr * copies, rows[order].astype(np.int32), np.tile(np.asarray(index.tf), copies)[order],
        np.tile(np.asarray(index.lengths), copies), index.k1, index.b,
    )


def lexical_worker(folder: str, questions_path: str) -> None:
    """In a child process: a tiled build's two BM25 indexes memory-mapped, as a build served from disk loads
    them; the eval questions x 3 searched as load_index's callers do (passages top 100, sentences top 300)."""
    from rag.evaluate.evaluation import load_questions
    from rag.index.lexical import LexicalIndex
    from rag.index.tokens import lexical_tokens

    tokens = [lexical_tokens(q.question) for q in load_questions(questions_path)]
    before = resident_mb()
    passages, sentences = (LexicalIndex.load(Path(folder) / name, mmap=True) for name in ("bm25", "bm25_sentences"))
    for t in tokens[:5]:
        passages.search(t, 100)
    times = []
    cpu = time.process_time()
    for _ in range(3):
        for t in tokens:
            started = time.perf_counter()
            passages.search(t, 100)
            sentences.search(t, 300)
            times.append(time.perf_counter() - started)
    print(json.dumps({
        "rows": len(passages), "sentences": len(sentences), "rss_mb": resident_mb() - before, "peak_rss_mb": peak_rss_mb(),
        "p50_ms": ms(statistics.median(times)), "cpu_ms": ms((time.process_time() - cpu) / len(times)),
    }))


def measure_lexical(source: Path, rows: int, questions: Path, workdir: Path) -> LexicalRun:
    """The source build's BM25 tiled to about `rows` passages, written, then served in a child."""
    from rag.index.lexical import LexicalIndex

    folder = workdir / f"bm25-{rows}"
    passages = LexicalIndex.load(source / "bm25")
    copies = max(1, round(rows / len(passages)))
    tiled(passages, copies).save(folder / "bm25")
    tiled(LexicalIndex.load(source / "bm25_sentences"), copies).save(folder / "bm25_sentences")
    cmd = [sys.executable, "-m", "rag.bench", "lexical-worker", str(folder), str(questions)]
    data = worker_json(cmd, TIMEOUT_S)
    disk = folder_bytes(folder) / 2**20
    return LexicalRun(data["rows"], data["sentences"], disk, data["rss_mb"], data["p50_ms"], data["cpu_ms"])


# ---------------------------------------------------------------- tables and the plan


def serving_tables(ivf: Sequence[ScaleRun], milvus: Sequence[ScaleRun], lexical: Sequence[LexicalRun], source: str) -> list[Table]:
    dense = Table(
        "Dense search: milvus-lite beside FAISS IVF (same vectors, queries and lists; search k = 10)",
        ("store", "vectors", "build", "resident after queries", "search p50", "CPU per query", "queries/s per core", "recall@10"),
        tuple(
            (run.kind, f"{run.vectors:,}", f"{run.build_seconds:.0f} s", f"{run.rss_mb:,.0f} MB", f"{run.p50_ms:.2f} ms",
             f"{run.cpu_ms:.2f} ms", f"{1000 / run.cpu_ms:,.0f}" if run.cpu_ms else "-", f"{run.recall:.3f}")
            for pair in zip(ivf, milvus) for run in pair
        ),
        (
            "The first rows of the synthetic vectors of the table above, recall@10 against exact search over the "
            "same rows. FAISS: `VectorIndex(kind=\"ivf\")` in memory, one thread. milvus-lite: the `--store milvus` "
            "code (rag.index.milvus_store) writing a collection to a local file, IVF_FLAT with the same list count and "
            "nprobe; milvus-lite 3 runs its engine in the calling process (Python over FAISS), so its CPU per query "
            "is every thread of that process. Build: inserting with the payload, indexing and loading.",
        ),
    )
    bm25 = Table(
        "BM25 at scale (served memory-mapped; passages top 100 + sentences top 300 per query)",
        ("passages", "sentences", "on disk", "resident added", "search p50", "CPU per query", "queries/s per core"),
        tuple(
            (f"{run.rows:,}", f"{run.sentences:,}", f"{run.disk_mb:,.0f} MB", f"{run.rss_mb:,.0f} MB", f"{run.p50_ms:.1f} ms",
             f"{run.cpu_ms:.1f} ms", f"{1000 / run.cpu_ms:,.1f}" if run.cpu_ms else "-")
            for run in lexical
        ),
        (
            f"The BM25 indexes of {source} repeated to the size (rag.bench.serving.tiled): every term's document "
            "frequency grows with the corpus, so each query scores as many postings as a corpus of that size with "
            "the same term statistics would. The eval questions x 3; bm25s's scoring (rag.index.lexical).",
        ),
    )
    return [dense, bm25]


def power_fit(sizes: Sequence[int], values: Sequence[float]) -> float:
    """The exponent a of value ~ size^a through the two largest sizes measured (1.0, linear, with one)."""
    pairs = sorted((s, v) for s, v in zip(sizes, values) if v > 0)
    if len(pairs) < 2 or pairs[-1][0] == pairs[-2][0]:
        return 1.0
    (n1, v1), (n2, v2) = pairs[-2], pairs[-1]
    return math.log(v2 / v1) / math.log(n2 / n1)


def marginal_bytes(runs: Sequence[ScaleRun]) -> tuple[float, float]:
    """(bytes per further vector, fixed bytes) of resident memory, through the two largest runs: the engine's
    own memory does not grow with the collection."""
    pairs = sorted((r.vectors, r.rss_mb * 2**20) for r in runs)
    if len(pairs) < 2 or pairs[-1][1] <= pairs[-2][1] or pairs[-1][0] == pairs[-2][0]:
        return pairs[-1][1] / pairs[-1][0], 0.0
    (n1, b1), (n2, b2) = pairs[-2], pairs[-1]
    per = (b2 - b1) / (n2 - n1)
    return per, b2 - per * n2


def projected(size: int, value: float, exponent: float, n: float) -> float:
    return value * (n / size) ** exponent


def serving_plan(disk: ScaleRun | None, milvus: Sequence[ScaleRun], lexical: Sequence[LexicalRun]) -> str:
    """SCALING.md's serving block: what was measured, then for each plan size the FAISS disk index on one
    node and a Milvus cluster, each with BM25 beside it, every extrapolated figure marked and its arithmetic shown."""
    gb = lambda b: b / 2**30  # noqa: E731
    lines = [SERVING_START, "## Serving: measured (`python -m rag bench`, scale section)", "",
             "| figure | value |", "|---|---|"]
    if disk:
        lines.append(f"| FAISS IVF-PQ served from disk, pread re-rank | {disk.vectors:,} vectors: p50 {disk.p50_ms:.2f} ms, "
                     f"CPU {disk.cpu_ms:.2f} ms per query, recall@10 {disk.recall:.3f}, resident {disk.rss_mb:,.0f} MB |")
    lines += [f"| {r.kind} | {r.vectors:,} vectors: p50 {r.p50_ms:.2f} ms, CPU {r.cpu_ms:.2f} ms per query, recall@10 "
              f"{r.recall:.3f}, resident {r.rss_mb:,.0f} MB ({r.rss_mb * 2**20 / r.vectors:,.0f} bytes per vector) |" for r in milvus]
    lines += [f"| BM25, memory-mapped | {r.rows:,} passages: p50 {r.p50_ms:.1f} ms, CPU {r.cpu_ms:.1f} ms per query, "
              f"resident {r.rss_mb:,.0f} MB, {r.disk_mb:,.0f} MB on disk |" for r in lexical]
    if not (disk and milvus and lexical):
        return "\n".join(lines + ["", "(The plan needs the disk, milvus-lite and BM25 figures of one run.)", SERVING_END]) + "\n"
    m_cpu = power_fit([r.vectors for r in milvus], [r.cpu_ms for r in milvus])
    m_p50 = power_fit([r.vectors for r in milvus], [r.p50_ms for r in milvus])
    b_cpu = power_fit([r.rows for r in lexical], [r.cpu_ms for r in lexical])
    top_m, top_b = max(milvus, key=lambda r: r.vectors), max(lexical, key=lambda r: r.rows)
    m_bytes, m_fixed = marginal_bytes(milvus)
    b_disk = top_b.disk_mb * 2**20 / top_b.rows
    pq_bytes = max(0.0, disk.disk_mb * 2**20 / disk.vectors - 4 * DIMENSION)  # the index file apart from the vectors
    usable = MEMORY_SHARE * NODE_MEMORY_GB * 2**30
    lines += [
        "",
        "## Serving plan (EXTRAPOLATED from the figures above)",
        "",
        f"Every number in this table is a projection, not a measurement. Costs grow as measured between the two "
        f"largest sizes: milvus-lite CPU per query ~ n^{m_cpu:.2f}, its p50 ~ n^{m_p50:.2f}; BM25 CPU per query ~ "
        f"n^{b_cpu:.2f}; FAISS IVF-PQ ~ n^0.5 (its lists grow as 4 sqrt(n) with nprobe fixed, so the codes scanned "
        f"grow as sqrt(n); the re-rank does not grow: an over-estimate). A node: {NODE_CORES} cores, {NODE_MEMORY_GB} GB, "
        f"{MEMORY_SHARE:.0%} of it for the index; a query searches every shard, so a cluster's CPU per query is "
        f"shards x the CPU of one shard. BM25 is split into shards of <= {BM25_SHARD_P50_MS:.0f} ms of work each, "
        "searched at once on as many cores." + (
            " milvus-lite's cost grows linearly: its search checks every row of every segment in Python for each "
            "query (milvus_lite/search/executor_indexed.py), so its rows project milvus-lite, not a Milvus server."
            if m_cpu > LINEAR else ""
        ),
        "",
        "| paragraphs | dense store | nodes | memory per node | dense p50 | BM25 shards (cores per query) | queries/s, dense + BM25 on all cores | how |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in PLAN_SIZES:
        bm25_cpu = projected(top_b.rows, top_b.cpu_ms, b_cpu, n)
        shards = max(1, math.ceil(bm25_cpu / BM25_SHARD_P50_MS))
        # FAISS from disk on one node: resident scales with the vectors at most (the lists it maps)
        d_cpu, d_p50 = projected(disk.vectors, disk.cpu_ms, 0.5, n), projected(disk.vectors, disk.p50_ms, 0.5, n)
        d_rss = disk.rss_mb * 2**20 + (n - disk.vectors) * pq_bytes
        d_nodes = max(1, math.ceil(shards / NODE_CORES))  # BM25's cores may need more nodes than the dense side
        qps = d_nodes * NODE_CORES * 1000 / (d_cpu + bm25_cpu)
        lines.append(
            f"| {n / 1e6:,.0f}M | FAISS IVF-PQ from disk (pread re-rank) | {d_nodes} | {gb(d_rss):,.1f} GB resident + BM25 "
            f"{gb(n * b_disk / d_nodes):,.1f} GB mapped; {gb(n * 4 * DIMENSION):,.0f} GB of float vectors on local SSD | ~{d_p50:,.1f} ms | "
            f"{shards} ({bm25_cpu:,.0f} ms CPU) | ~{qps:,.0f} | dense CPU {disk.cpu_ms:.2f} ms x sqrt({n / disk.vectors:,.0f}) = "
            f"{d_cpu:.1f} ms; resident {disk.rss_mb:,.0f} MB + {pq_bytes:.0f} bytes of IVF-PQ per further vector (every "
            "list page touched: an upper bound); BM25 on the same node's cores |"
        )
        total = n * m_bytes
        nodes = max(1, math.ceil(total / max(usable - m_fixed, 1.0)), math.ceil(shards / NODE_CORES))
        shard = n / nodes
        s_cpu, s_p50 = projected(top_m.vectors, top_m.cpu_ms, m_cpu, shard), projected(top_m.vectors, top_m.p50_ms, m_p50, shard)
        qps = nodes * NODE_CORES * 1000 / (nodes * s_cpu + bm25_cpu)
        lines.append(
            f"| {n / 1e6:,.0f}M | Milvus cluster, {nodes} query nodes (one shard each) | {nodes} | {gb(m_fixed + total / nodes):,.1f} GB of "
            f"collection + BM25 {gb(n * b_disk / nodes):,.1f} GB mapped | ~{s_p50:,.1f} ms | {shards} ({bm25_cpu:,.0f} ms CPU) | ~{qps:,.0f} | "
            f"{m_bytes:,.0f} bytes per further vector (+{gb(m_fixed):.2f} GB fixed) x {n / 1e6:,.0f}M / {MEMORY_SHARE:.0%} of {NODE_MEMORY_GB} GB; shard of "
            f"{shard / 1e6:,.1f}M: CPU {top_m.cpu_ms:.2f} ms x ({shard / top_m.vectors:,.1f})^{m_cpu:.2f} = {s_cpu:.1f} ms x {nodes} shards |"
        )
    lines.append(SERVING_END)
    return "\n".join(lines) + "\n"
