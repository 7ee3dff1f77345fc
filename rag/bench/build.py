"""Index builds: late chunking (one forward pass per passage) beside the old build (every sentence embedded
again), on the seeds and on a large recombined corpus, each a fresh build in a child process."""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
from pathlib import Path
from typing import Sequence

from rag.bench.common import BuildRun, Options, Table, Target, child_env, log, peak_rss_mb, run_measured, timed_embedder

PARAGRAPHS_PER_ARTICLE = 50
TARGET_PASSAGES_PER_S = 150.0
TARGET_SPEEDUP = 2.5
BUILD_TIMEOUT_S = 6 * 3600


def seed_sentences(seeds: Path, index_dir: Path) -> list[str]:
    """Every sentence of the seed articles, as their index splits them."""
    from rag.assistant import Assistant

    index = Assistant(seeds_dir=seeds, index_dir=index_dir).index
    return [p.sentence_text(s).strip() for p in index.passages for s in p.sentences if p.sentence_text(s).strip()]


def write_recombined_corpus(sentences: Sequence[str], passages: int, folder: Path, seed: int = 0) -> int:
    """Articles of real sentences recombined at random, 2-4 per paragraph, PARAGRAPHS_PER_ARTICLE paragraphs
    each: real text with the seeds' vocabulary and lengths, as many passages as asked. Returns articles."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    articles = math.ceil(passages / PARAGRAPHS_PER_ARTICLE)
    for number in range(articles):
        count = min(PARAGRAPHS_PER_ARTICLE, passages - number * PARAGRAPHS_PER_ARTICLE)
        paragraphs = [" ".join(rng.sample(list(sentences), rng.randint(2, 4))) for _ in range(count)]
        text = f"Recombined article {number}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"{number:06d}.txt").write_text(text, encoding="utf-8")
    return articles


def build_worker(seeds: str, index_dir: str, ray_address: str | None = None) -> None:
    """In a child process: build an index as `python -m rag index [--ray]` does, timing the embedder apart
    (on Ray the embedding runs in the actors, so only the wall time is known)."""
    from rag.assistant import Assistant

    embedder = timed_embedder()
    manifest = Assistant(seeds_dir=seeds, index_dir=index_dir, embedder=embedder).rebuild(ray_address=ray_address).manifest
    print(json.dumps({
        "passages": manifest["passages"], "sentences": manifest["sentences"],
        "embed_seconds": embedder.seconds, "peak_rss_mb": peak_rss_mb(),
    }))


def measure_build(
    seeds: Path, index_dir: Path, backend: str | None = None, sentences: str = "late", ray: str | None = None
) -> BuildRun:
    shutil.rmtree(index_dir, ignore_errors=True)
    env = child_env(RAG_SENTENCE_VECTORS=sentences, **({"RAG_EMBED_BACKEND": backend} if backend else {}))
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "rag.bench", "build-worker", str(seeds), str(index_dir), *(["--ray", ray] if ray else [])]
    seconds, out = run_measured(cmd, env, BUILD_TIMEOUT_S)
    data = json.loads(out.strip().splitlines()[-1])
    return BuildRun(data["passages"], data["sentences"], seconds, data["embed_seconds"], data["peak_rss_mb"])


def build_row(label: str, run: BuildRun) -> tuple[str, ...]:
    return (
        label,
        f"{run.passages:,}",
        f"{run.seconds:.1f} s",
        f"{run.passages_per_s:.1f}",
        f"{run.embed_passages_per_s:.1f}" if run.embed_seconds else "(in Ray actors)",
        f"{run.peak_rss_mb:.0f} MB",
    )


def build_section(opts: Options, workdir: Path, index_dir: Path) -> tuple[list[Target], list[Table], dict]:
    """Returns, beside the report's parts, what later sections reuse: the big corpus, its late build and run."""
    runs: list[tuple[str, BuildRun]] = []
    seeds = opts.seeds
    log(f"index build: {seeds.name}/ (late chunking, the old build, torch)")
    runs.append((f"{seeds.name}/, late chunking (onnx)", measure_build(seeds, workdir / "b-seeds")))
    runs.append((f"{seeds.name}/, before: every sentence embedded (onnx)", measure_build(seeds, workdir / "b-seeds-old", sentences="separate")))
    runs.append((f"{seeds.name}/, late chunking (torch)", measure_build(seeds, workdir / "b-seeds-torch", backend="torch")))
    sentences = seed_sentences(seeds, index_dir)
    corpus = workdir / "recombined"
    write_recombined_corpus(sentences, opts.passages, corpus)
    log(f"index build: {opts.passages:,} recombined passages, the old build (every sentence embedded)")
    old = measure_build(corpus, workdir / "b-big-old", sentences="separate")
    shutil.rmtree(workdir / "b-big-old", ignore_errors=True)
    log(f"index build: {opts.passages:,} recombined passages, late chunking")
    new = measure_build(corpus, workdir / "b-big")
    runs += [(f"{opts.passages:,} recombined, before: every sentence embedded", old), (f"{opts.passages:,} recombined, late chunking", new)]
    speedup = new.passages_per_s / old.passages_per_s if old.passages_per_s else 0.0
    notes = (
        "Each build is a fresh `python -m rag index` equivalent in a child process (ingest, Punkt training, "
        "chunking, embedding, BM25, FAISS, checksummed publish), ONNX fp32 unless marked torch; time is wall "
        "clock from process start, peak RSS the child's own (VmHWM). One run each; the old and the new build "
        "of the large corpus run one after the other in this run.",
        f"Recombined corpus: {len(sentences)} seed sentences drawn 2-4 at a time into paragraphs, "
        f"{PARAGRAPHS_PER_ARTICLE} per article ({new.sentences / max(new.passages, 1):.1f} sentences per passage).",
        "Late chunking: each sentence's vector is the mean of its tokens' embeddings from the passage's own "
        "forward pass (rag.index.late_chunking); before, each sentence was embedded again on its own "
        "(`RAG_SENTENCE_VECTORS=separate`, still selectable).",
    )
    table = Table(
        "Index build",
        ("corpus", "passages", "wall time", "passages/s", "passages/s embedding only", "peak RSS"),
        tuple(build_row(label, run) for label, run in runs),
        notes,
    )
    target = Target(
        f"build at {new.passages:,} passages >= {TARGET_PASSAGES_PER_S:.0f} passages/s (onnx fp32) and "
        f">= {TARGET_SPEEDUP}x the old build",
        f"{new.passages_per_s:.1f} passages/s ({speedup:.2f}x), peak RSS {new.peak_rss_mb:.0f} MB",
        f"{old.passages_per_s:.1f} passages/s (every sentence embedded), peak RSS {old.peak_rss_mb:.0f} MB",
        verdict_build(new.passages_per_s, speedup),
    )
    reuse = {"corpus": corpus, "late_build": workdir / "b-big", "late_run": new, "old_run": old}
    return [target], [table], reuse


def verdict_build(passages_per_s: float, speedup: float) -> str:
    missed = []
    if passages_per_s < TARGET_PASSAGES_PER_S:
        missed.append(f"missed by {TARGET_PASSAGES_PER_S - passages_per_s:.1f} passages/s")
    if speedup < TARGET_SPEEDUP:
        missed.append(f"speed-up {speedup:.2f}x < {TARGET_SPEEDUP}x")
    return "; ".join(missed) or "met"
