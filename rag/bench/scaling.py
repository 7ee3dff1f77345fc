"""docs/SCALING.md's figures: per-passage and per-core measurements of this run, projected to 20M paragraphs."""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rag.bench.common import BuildRun, ScaleRun, log, ms, resident_mb, worker_json

SCALING_START, SCALING_END = "<!-- scaling:start -->", "<!-- scaling:end -->"
TARGET_PARAGRAPHS = 20_000_000
NODE_CORES = 16  # an assumed cluster node; every per-core figure below is measured here
NODE_COUNTS = (4, 8, 16, 32)


@dataclass(frozen=True)
class LoadedBuild:
    """A loaded build, measured in a child process: its memory apart from the vectors, and BM25's speed."""

    passages: int
    sentences: int
    rss_mb: float  # what loading it added to the process's resident memory
    vector_mb: float
    bm25_p50_ms: float
    files_mb: dict


def load_worker(index_dir: str, questions_path: str) -> None:
    """In a child process: load a build as the app does; resident memory, the vectors' share, BM25 timing."""
    from rag.evaluate.evaluation import load_questions
    from rag.index.builds import BuildStore
    from rag.index.corpus_index import load_index
    from rag.index.tokens import lexical_tokens
    from rag.index.vectors import import_faiss

    import_faiss()  # the library's own memory is not the build's
    build = BuildStore(index_dir).current()
    before = resident_mb()
    index = load_index(build)
    tokens = [lexical_tokens(q.question) for q in load_questions(questions_path)]
    times = []
    for _ in range(3):
        for t in tokens:
            started = time.perf_counter()
            index.lexical.search(t, 100)
            index.sentence_lexical.search(t, 300)
            times.append(time.perf_counter() - started)
    files = {}
    for path in build.rglob("*"):
        if path.is_file():
            part = path.relative_to(build).parts[0]
            files[part] = files.get(part, 0) + path.stat().st_size / 2**20
    print(json.dumps({
        "passages": len(index.passages), "sentences": len(index.sentence_vectors), "rss_mb": resident_mb() - before,
        "vector_mb": (index.passage_vectors.nbytes + index.sentence_vectors.nbytes) / 2**20,
        "bm25_p50_ms": ms(statistics.median(times)), "files_mb": files,
    }))


def measure_loaded(index_dir: Path, questions: Path) -> LoadedBuild:
    cmd = [sys.executable, "-m", "rag.bench", "load-worker", str(index_dir), str(questions)]
    data = worker_json(cmd, 3600)
    return LoadedBuild(data["passages"], data["sentences"], data["rss_mb"], data["vector_mb"], data["bm25_p50_ms"], data["files_mb"])


def projection(late: BuildRun, cores: int, ray: BuildRun | None, plain: BuildRun, loaded: LoadedBuild, disk: ScaleRun | None) -> str:
    """The Markdown of SCALING.md's measured section: the figures, then 20M paragraphs from them."""
    n = TARGET_PARAGRAPHS
    per_passage = lambda mb: mb * 2**20 / loaded.passages  # noqa: E731  bytes per passage
    embed_core_s = late.embed_seconds * cores / late.passages  # core-seconds of embedding per passage
    driver_s = (late.seconds - late.embed_seconds) / late.passages  # everything else, one process
    ray_efficiency = ray.passages_per_s / plain.passages_per_s if ray and plain.passages_per_s else 1.0
    core_hours = n * embed_core_s / 3600 / ray_efficiency
    sentences_per_passage = loaded.sentences / loaded.passages
    files = loaded.files_mb
    bm25_mb = files.get("bm25", 0.0) + files.get("bm25_sentences", 0.0)
    vectors_mb = files.get("passage_vectors.npy", 0.0) + files.get("sentence_vectors.npy", 0.0)
    total_mb = sum(files.values())
    gb = lambda b: b / 2**30  # noqa: E731
    lines = [
        SCALING_START,
        "## Measured (`python -m rag bench`, this machine)",
        "",
        "| figure | value | from |",
        "|---|---|---|",
        f"| embedding, late chunking | {embed_core_s * 1000:.1f} core-ms per passage ({late.embed_passages_per_s:.1f} passages/s on {cores} cores) | Index build table, {late.passages:,} recombined, late chunking |",
        f"| everything but embedding (ingest, Punkt, chunking, BM25, FAISS, writing, checksums) | {driver_s * 1000:.2f} ms per passage, one process | same row: wall time minus time in the embedder |",
        f"| build, plain | {late.passages_per_s:.1f} passages/s, peak RSS {late.peak_rss_mb:,.0f} MB | same row |",
        f"| build on a local Ray, relative to plain | {ray_efficiency:.2f}x | Ray Data build table |" if ray else "| build on Ray | not measured in this run | |",
        f"| index files per passage | {per_passage(total_mb) / 1024:.1f} KB, of which vectors {per_passage(vectors_mb) / 1024:.1f} KB, BM25 {per_passage(bm25_mb) / 1024:.2f} KB ({sentences_per_passage:.1f} sentences per passage) | the late build's folder |",
        f"| loaded build, memory apart from vectors | {(loaded.rss_mb - loaded.vector_mb) * 2**20 / loaded.passages / 1024:.1f} KB per passage (loading added {loaded.rss_mb:,.0f} MB resident at {loaded.passages:,} passages) | load_index of that build in a child, after importing faiss and bm25s |",
        f"| BM25 per query (passages top 100 + sentences top 300) | {loaded.bm25_p50_ms:.2f} ms p50 at {loaded.passages:,} passages | same child, the eval questions x 3 |",
    ]
    if disk:
        index_bytes = disk.disk_mb * 2**20 - disk.vectors * 384 * 4
        lines.append(
            f"| dense search served from disk | {disk.p50_ms:.2f} ms p50, recall@10 {disk.recall:.3f}, resident {disk.rss_mb:,.0f} MB at "
            f"{disk.vectors:,} vectors; index {index_bytes / disk.vectors:.0f} bytes per vector | Dense index at scale table |"
        )
    lines += [
        "",
        f"## Projected to {n / 1e6:.0f} million paragraphs (one passage each)",
        "",
        "| what | projection | how |",
        "|---|---|---|",
        f"| embedding compute | {core_hours:,.0f} core-hours | {n / 1e6:.0f}M x {embed_core_s * 1000:.1f} core-ms / Ray efficiency {ray_efficiency:.2f} |",
        *(
            f"| build on {nodes} nodes x {NODE_CORES} cores | {core_hours / (nodes * NODE_CORES):.1f} h of embedding, plus the driver's serial part | core-hours / {nodes * NODE_CORES} cores (linear: actors share nothing) |"
            for nodes in NODE_COUNTS
        ),
        f"| driver's serial part (Punkt, BM25, FAISS, writing) | up to {n * driver_s / 3600:.1f} h on one core | {driver_s * 1000:.2f} ms x {n / 1e6:.0f}M (an upper bound: chunking moves to the actors on Ray) |",
        f"| vectors the driver gathers | {gb(n * (1 + sentences_per_passage) * 384 * 4):,.0f} GB | {n / 1e6:.0f}M x (1 + {sentences_per_passage:.1f} sentences) x 1,536 bytes |",
        f"| index on disk | {gb(n * per_passage(total_mb)):,.0f} GB, of which vectors {gb(n * per_passage(vectors_mb)):,.0f} GB, BM25 {gb(n * per_passage(bm25_mb)):,.0f} GB ({bm25_mb / total_mb * 100:.0f}%) | per-passage file sizes x {n / 1e6:.0f}M |",
    ]
    if disk:
        lines.append(
            f"| dense index served from disk | {gb(n * index_bytes / disk.vectors):,.1f} GB of IVF-PQ file, memory-mapped | {index_bytes / disk.vectors:.0f} bytes per vector x {n / 1e6:.0f}M |"
        )
    lines += [
        f"| serving memory apart from vectors | {gb(n * (loaded.rss_mb - loaded.vector_mb) * 2**20 / loaded.passages):,.0f} GB | per-passage memory of a loaded build x {n / 1e6:.0f}M: the corpus (passages, articles) is held as Python objects |",
        f"| BM25 per query | ~{loaded.bm25_p50_ms * n / loaded.passages / 1000:,.1f} s | {loaded.bm25_p50_ms:.2f} ms x {n / loaded.passages:,.0f} (bm25s scores every posting of the query's terms: linear in the corpus) |",
        SCALING_END,
    ]
    return "\n".join(lines) + "\n"


def scaling_section(opts, reuse: dict) -> str | None:
    """SCALING.md's measured section, when this run built the large corpus (else None: left as it was)."""
    from rag.index.encoder import cpu_count

    late, plain_dir = reuse.get("late_run"), reuse.get("late_build")
    if late is None or plain_dir is None:
        return None
    log("scaling: loading the large build to measure its memory and BM25")
    loaded = measure_loaded(plain_dir, opts.questions)
    return projection(late, cpu_count(), reuse.get("ray_run"), late, loaded, (reuse.get("scale") or {}).get("served from disk"))

