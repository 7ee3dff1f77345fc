"""`python -m rag bench` section "add": the time to add one article to a 100,000-passage index (and to remove
it), beside rebuilding that index, each measured in the same run. Written to its own block of the report."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPORT_START, REPORT_END = "<!-- bench-add:start -->", "<!-- bench-add:end -->"
BASELINE_PASSAGES = 2_000  # the from-scratch build measured when the build section did not run


# ---------------------------------------------------------------- child processes


def standin_embedder():
    """The real embedder with `encode` replaced by unit vectors drawn from each text's hash: the base index
    of the benchmark is built like any other (Punkt, chunking, BM25, FAISS, publish) without the half hour
    the model would take; an update's cost depends on the vectors' number, not their values."""
    from rag.embedding import Embedder
    from rag.indexer import content_key

    class StandInEmbedder(Embedder):
        def encode(self, texts, show_progress=False):
            out = np.empty((len(texts), self.dimension), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = np.random.default_rng(int(content_key(text)[:15], 16)).standard_normal(self.dimension)
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    return StandInEmbedder()


def base_worker(corpus: str, index_dir: str) -> None:
    """In a child process: build the base index over the recombined corpus with stand-in vectors."""
    from rag import Assistant

    embedder = standin_embedder()
    embedder.warm_up()
    started = time.perf_counter()
    manifest = Assistant(seeds_dir=corpus, index_dir=index_dir, embedder=embedder).rebuild().manifest
    print(json.dumps({"passages": manifest["passages"], "sentences": manifest["sentences"], "seconds": time.perf_counter() - started}))


def add_worker(corpus: str, index_dir: str, uploads: str, articles: str) -> None:
    """In a child process: load the base index, add each article file one at a time (timing the embedding
    apart), remove the last one, then rebuild the whole index with the embedding cache."""
    from rag import Assistant
    from rag.bench import timed_embedder

    embedder = timed_embedder()
    assistant = Assistant(seeds_dir=corpus, index_dir=index_dir, uploads_dir=uploads, embedder=embedder)
    started = time.perf_counter()
    passages_before = len(assistant.index.passages)
    load_seconds = time.perf_counter() - started
    adds = []
    for path in sorted(Path(articles).iterdir()):
        embedder.seconds, embedder.texts = 0.0, 0
        started = time.perf_counter()
        article = assistant.add(path)
        adds.append({
            "seconds": time.perf_counter() - started, "embed_seconds": embedder.seconds,
            "texts": embedder.texts, "doc_id": article.doc_id,
        })
        assistant.ask("What did the article say?")  # the new index answers
    started = time.perf_counter()
    assistant.remove(adds[-1]["doc_id"])
    remove_seconds = time.perf_counter() - started
    bm25_seconds = bm25_rebuild_seconds(assistant.index)
    embedder.seconds, embedder.texts = 0.0, 0
    started = time.perf_counter()
    assistant.rebuild()
    rebuild_seconds = time.perf_counter() - started
    print(json.dumps({
        "passages": passages_before, "load_seconds": load_seconds, "adds": adds, "remove_seconds": remove_seconds,
        "rebuild_seconds": rebuild_seconds, "rebuild_embedded": embedder.texts, "bm25_seconds": bm25_seconds,
    }))


def bm25_rebuild_seconds(index) -> float:
    """What an add would cost BM25 without incremental updates: both indexes made again from the text."""
    from rag.indexer import passage_lexical_text
    from rag.lexical import LexicalIndex
    from rag.store import lexical_tokens

    started = time.perf_counter()
    LexicalIndex([lexical_tokens(passage_lexical_text(index.articles[p.doc_id], p)) for p in index.passages])
    LexicalIndex([lexical_tokens(p.sentence_text(s)) for p in index.passages for s in p.sentences])
    return time.perf_counter() - started


# ---------------------------------------------------------------- the section


def section(opts, workdir: Path, big_build: Path | None, big_build_seconds: float | None):
    """Targets and tables of the "add" section (rag.bench.Target / Table)."""
    from rag import bench

    corpus = workdir / "recombined"
    index_dir = workdir / "add-index"
    if big_build is not None and corpus.is_dir():
        bench.log("add: reusing the big build's index")
        shutil.copytree(big_build, index_dir)
        base_note = f"the build section's index of {opts.passages:,} recombined passages (real vectors)"
    else:
        sentences = bench.seed_sentences(opts.seeds, workdir / "index")
        bench.write_recombined_corpus(sentences, opts.passages, corpus)
        bench.log(f"add: base index of {opts.passages:,} recombined passages, stand-in vectors")
        cmd = [sys.executable, "-m", "rag.bench", "add-base-worker", str(corpus), str(index_dir)]
        bench.run_measured(cmd, bench.child_env(), 6 * 3600)
        base_note = (
            f"{opts.passages:,} recombined passages built with stand-in vectors (rag.bench_add.standin_embedder: "
            "the model's half hour skipped; every other stage real)"
        )
    articles = workdir / "add-articles"
    articles.mkdir()
    for path in sorted(opts.seeds.glob("*.txt")):  # real articles, not in the recombined corpus as wholes
        (articles / path.name).write_bytes(path.read_bytes())
    bench.log(f"add: adding {len(list(articles.iterdir()))} articles one at a time, removing one, rebuilding")
    cmd = [sys.executable, "-m", "rag.bench", "add-worker", str(corpus), str(index_dir), str(workdir / "add-uploads"), str(articles)]
    data = json.loads(bench.run_measured(cmd, bench.child_env(), 6 * 3600)[1].strip().splitlines()[-1])
    if big_build_seconds is None:
        sample = min(opts.passages, BASELINE_PASSAGES)
        sample_corpus = workdir / "add-sample"
        bench.write_recombined_corpus(bench.seed_sentences(opts.seeds, workdir / "index"), sample, sample_corpus)
        bench.log(f"add: from-scratch build of {sample:,} passages for the baseline")
        run = bench.measure_build(sample_corpus, workdir / "add-sample-index", None, 6 * 3600)
        scratch = run.seconds * data["passages"] / max(run.passages, 1)
        scratch_note = f"{scratch:.0f} s, extrapolated from {run.passages:,} passages built in {run.seconds:.1f} s in this run"
    else:
        scratch = big_build_seconds
        scratch_note = f"{scratch:.0f} s (the build section, this run)"
    return report(data, base_note, scratch, scratch_note)


def report(data: dict, base_note: str, scratch: float, scratch_note: str):
    from rag.bench import Table, Target

    adds = data["adds"]
    median = statistics.median(a["seconds"] for a in adds)
    embed = statistics.median(a["embed_seconds"] for a in adds)
    texts = statistics.median(a["texts"] for a in adds)
    passages = data["passages"]
    rows = (
        ("load the index (child process, model already loaded)", f"{data['load_seconds']:.1f} s"),
        (f"add one article: median of {len(adds)}", f"{median:.2f} s"),
        ("  of which embedding its passages and sentences (median texts embedded)", f"{embed:.2f} s ({texts:.0f} texts)"),
        ("  first add of the process (loads nltk's Punkt and the tokenizer)", f"{adds[0]['seconds']:.2f} s"),
        ("remove one article", f"{data['remove_seconds']:.2f} s"),
        ("baseline: both BM25 indexes made again from the text (what an add would cost BM25 alone without "
         "incremental updates)", f"{data['bm25_seconds']:.1f} s"),
        ("baseline: full rebuild with the embedding cache (nothing re-embedded)", f"{data['rebuild_seconds']:.1f} s"),
        ("baseline: full build from scratch (every passage and sentence embedded)", scratch_note),
    )
    table = Table(
        f"Adding an article to a {passages:,}-passage index",
        ("operation", "time"),
        rows,
        (
            f"Base: {base_note}. Added: the seed articles, one at a time as uploads (`Assistant.add`), each "
            "answered once right after; times are wall clock in one child process.",
            "An add chunks the article with the Punkt parameters stored in the build (not retrained), embeds only "
            "its text, appends to FAISS (an IVF index keeps its trained lists), inserts its postings into both "
            "BM25 indexes (rag.lexical keeps term frequencies; every score is recomputed by vector arithmetic), "
            "then writes and publishes a new checksummed build, so most of its time at this size is writing the "
            "build's files, not embedding.",
            f"Without incremental BM25 an add would also make both BM25 indexes again from the text: "
            f"{data['bm25_seconds']:.1f} s more, {data['bm25_seconds'] / median:.1f} times the add as it is.",
            f"1-minute load average when the run ended: {os.getloadavg()[0]:.1f} on 2 cores (a shared VM: other "
            "work slows every figure of the run alike, baselines included).",
        ),
    )
    target = Target(
        f"add one article to a {passages:,}-passage index (no numeric target)",
        f"{median:.2f} s (median of {len(adds)}; {embed:.2f} s of it embedding)",
        f"full rebuild {data['rebuild_seconds']:.0f} s with cached embeddings; {scratch:.0f} s from scratch",
        "reported",
    )
    return [target], [table]


def render(targets, tables, opts) -> str:
    from rag.bench import machine_facts

    lines = [
        REPORT_START,
        "## Adding articles (`python -m rag bench`, section `add`)",
        "",
        f"Written by `python -m rag bench{' --quick' if opts.quick else ''} --skip latency,cold,build,scale,eval` "
        "(or a full run); baselines measured in the same run. Rerun to refresh; do not edit by hand.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine_facts()),
        "",
        "| target | this code | baseline, same run | verdict |",
        "|---|---|---|---|",
        *(f"| {t.name} | {t.value} | {t.baseline} | {t.verdict} |" for t in targets),
        "",
    ]
    for table in tables:
        lines += [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines += [""] + [f"- {note}" for note in table.notes]
    lines.append(REPORT_END)
    return "\n".join(lines).rstrip() + "\n"
