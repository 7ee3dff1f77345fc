"""Section "add": the time to add one article to a 100,000-passage index (and to remove it), beside rebuilding
that index, each measured in the same run. Written to its own block of the report."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.bench.build import BUILD_TIMEOUT_S, measure_build, seed_sentences, write_recombined_corpus
from rag.bench.common import (
    SECTIONS,
    BuildRun,
    Options,
    Report,
    Table,
    Target,
    child_env,
    log,
    timed_embedder,
    worker_json,
)
from rag.bench.report import machine_lines, table_lines, target_lines

REPORT_START, REPORT_END = "<!-- bench-add:start -->", "<!-- bench-add:end -->"
BASELINE_PASSAGES = 2_000  # the from-scratch build measured when no section of the run built the corpus
ALONE = ",".join(s for s in SECTIONS if s != "add")  # --skip this to run the section alone


# ---------------------------------------------------------------- child processes


def model_dimension(model: str) -> int:
    """The model's vector size from its sentence-transformers files, without loading it."""
    for name, key in (("1_Pooling/config.json", "word_embedding_dimension"), ("config.json", "hidden_size")):
        path = Path(model) / name
        if path.is_file():
            value = json.loads(path.read_text(encoding="utf-8")).get(key)
            if value:
                return int(value)
    raise ValueError(f"no vector size in {model}: neither 1_Pooling/config.json nor config.json gives one")


def standin_embedder(cache_dir: str | Path):
    """The real embedder with its encoders replaced by unit vectors drawn from each text's hash: the base
    index of the benchmark is built like any other (Punkt, chunking, BM25, FAISS, publish) without the half
    hour the model would take; an update's cost depends on the vectors' number, not their values.

    It never loads the model, and `cache_dir` (a folder of its own) is where the build keeps the vectors of
    the model's words for query expansion (rag.index.artifacts.model_word_vectors): stand-in vectors in the shared
    model cache would be trusted by every later real build, and its query expansion would be noise."""
    from rag.index.build_vectors import content_key
    from rag.index.embedder import Embedder
    from rag.index.late_chunking import ContextVectors

    class StandInEmbedder(Embedder):
        @property
        def dimension(self) -> int:
            return model_dimension(self.model)

        def warm_up(self) -> None:
            pass  # nothing to load

        def encode(self, texts, show_progress=False):
            out = np.empty((len(texts), self.dimension), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = np.random.default_rng(int(content_key(text)[:15], 16)).standard_normal(self.dimension)
            return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)

        def encode_in_context(self, texts, spans, show_progress=False):
            sentences = [text[start:end] for text, text_spans in zip(texts, spans) for start, end in text_spans]
            return ContextVectors(self.encode(texts), self.encode(sentences))

    return StandInEmbedder(cache_dir=cache_dir)


def base_worker(corpus: str, index_dir: str, uploads: str) -> None:
    """In a child process: build the base index over the recombined corpus with stand-in vectors."""
    from rag.assistant import Assistant

    with tempfile.TemporaryDirectory(prefix="rag-standin-") as cache:
        embedder = standin_embedder(cache)
        started = time.perf_counter()
        manifest = Assistant(seeds_dir=corpus, index_dir=index_dir, uploads_dir=uploads, embedder=embedder).rebuild().manifest
    print(json.dumps({"passages": manifest["passages"], "sentences": manifest["sentences"], "seconds": time.perf_counter() - started}))


def add_worker(corpus: str, index_dir: str, uploads: str, articles: str) -> None:
    """In a child process: load the base index, add each article file one at a time (timing the embedding
    apart), remove the last one, then rebuild the whole index with the embedding cache."""
    from rag.assistant import Assistant
    from rag.index.artifacts import model_word_vectors
    from rag.index.builds import BuildStore

    embedder = timed_embedder()
    model_word_vectors(embedder)  # the model's word vectors, cached once per model, as on any machine that built before
    base = BuildStore(index_dir).current()
    assistant = Assistant(seeds_dir=corpus, index_dir=index_dir, uploads_dir=uploads, embedder=embedder)
    started = time.perf_counter()
    passages_before = len(assistant.index.passages)
    load_seconds = time.perf_counter() - started
    if BuildStore(index_dir).current() != base:
        raise RuntimeError("the base index was rebuilt on loading (settings differ): the figures would time a build")
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
    from rag.index.lexical import LexicalIndex
    from rag.index.recipe import passage_lexical_text
    from rag.index.tokens import lexical_tokens

    started = time.perf_counter()
    LexicalIndex([lexical_tokens(passage_lexical_text(index.articles[p.doc_id], p)) for p in index.passages])
    LexicalIndex([lexical_tokens(p.sentence_text(s)) for p in index.passages for s in p.sentences])
    return time.perf_counter() - started


# ---------------------------------------------------------------- the section


def add_section(opts: Options, workdir: Path, index_dir: Path, reuse: dict) -> tuple[list[Target], list[Table]]:
    """The base is the plain build of the large corpus when a section of this run made it (copied: the
    add changes it, and later sections read it), else one of our own with stand-in vectors."""
    from rag.index.builds import POINTER_FILE, BuildStore

    base, uploads = workdir / "add-index", workdir / "add-uploads"
    corpus, built, built_run = reuse.get("corpus"), reuse.get("late_build"), reuse.get("late_run")
    if corpus is not None and built is not None and built_run is not None:
        log(f"add: copying the large build ({built_run.passages:,} passages) as the base")
        current = BuildStore(built).current()
        shutil.copytree(current, base / current.name)
        shutil.copy2(built / POINTER_FILE, base / POINTER_FILE)
        base_note = f"the plain build of {built_run.passages:,} recombined passages made earlier in this run (real vectors)"
        source = "the build it was copied from"
    else:
        corpus, built_run = workdir / "add-corpus", None
        sentences = seed_sentences(opts.seeds, index_dir)
        write_recombined_corpus(sentences, opts.passages, corpus)
        log(f"add: base index of {opts.passages:,} recombined passages, stand-in vectors")
        cmd = [sys.executable, "-m", "rag.bench", "add-base-worker", str(corpus), str(base), str(uploads)]
        made = worker_json(cmd, BUILD_TIMEOUT_S)
        base_note = (
            f"{made['passages']:,} recombined passages built with stand-in vectors (rag.bench.add.standin_embedder: "
            "the model's half hour skipped; every other stage real)"
        )
    mode = BuildStore.read_manifest(BuildStore(base).current()).get("sentence_vectors", "separate")
    articles = workdir / "add-articles"
    articles.mkdir()
    for path in sorted(opts.seeds.glob("*.txt")):  # real articles, not in the recombined corpus as wholes
        (articles / path.name).write_bytes(path.read_bytes())
    log(f"add: adding {len(list(articles.iterdir()))} articles one at a time, removing one, rebuilding")
    cmd = [sys.executable, "-m", "rag.bench", "add-worker", str(corpus), str(base), str(uploads), str(articles)]
    # the worker makes sentence vectors as the base did: in any other mode its index would be stale
    data = worker_json(cmd, BUILD_TIMEOUT_S, child_env(RAG_SENTENCE_VECTORS=mode))
    if built_run is None:
        sample = min(opts.passages, BASELINE_PASSAGES)
        sample_corpus = workdir / "add-sample"
        write_recombined_corpus(sentences, sample, sample_corpus)
        log(f"add: from-scratch build of {sample:,} passages for the baseline")
        built_run = measure_build(sample_corpus, workdir / "add-sample-index", sentences=mode)
        shutil.rmtree(workdir / "add-sample-index", ignore_errors=True)
        source = "a from-scratch build of the same generator's corpus, real vectors"
    return add_report(data, base_note, mode, scratch_baseline(built_run, data["passages"], source))


def scratch_baseline(run: BuildRun, passages: int, source: str) -> tuple[float, str]:
    """Seconds to build `passages` from scratch and how they were found: `run` itself when it built that
    many passages, else a linear extrapolation from it (every stage but k-means is linear in passages)."""
    if run.passages == passages:
        return run.seconds, f"{run.seconds:.0f} s ({source}, this run)"
    seconds = run.seconds * passages / max(run.passages, 1)
    return seconds, (
        f"{seconds:.0f} s, extrapolated from {run.passages:,} passages built in {run.seconds:.1f} s ({source}, this run)"
    )


def add_report(data: dict, base_note: str, mode: str, scratch: tuple[float, str]) -> tuple[list[Target], list[Table]]:
    """The section's target and table from the add worker's figures."""
    adds = data["adds"]
    median = statistics.median(a["seconds"] for a in adds)
    embed = statistics.median(a["embed_seconds"] for a in adds)
    texts = statistics.median(a["texts"] for a in adds)
    passages = data["passages"]
    scratch_seconds, scratch_note = scratch
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
    sentences = "late-chunked (one forward pass per passage)" if mode == "late" else "each embedded on its own"
    table = Table(
        f"Adding an article to a {passages:,}-passage index",
        ("operation", "time"),
        rows,
        (
            f"Base: {base_note}; sentence vectors {sentences}, as the adds make them. Added: the seed articles, "
            "one at a time as uploads (`Assistant.add`), each answered once right after; times are wall clock "
            "in one child process.",
            "An add chunks the article with the Punkt parameters stored in the build (not retrained), embeds only "
            "its text, appends to FAISS (an IVF index keeps its trained lists), inserts its postings into both "
            "BM25 indexes (rag.index.lexical keeps term frequencies; every score is recomputed by vector arithmetic), "
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
        f"full rebuild {data['rebuild_seconds']:.0f} s with cached embeddings; {scratch_seconds:.0f} s from scratch",
        "reported",
    )
    return [target], [table]


def render_add(report: Report, opts: Options) -> str:
    """The section's own block of the report, between REPORT_START and REPORT_END."""
    lines = [
        REPORT_START,
        "## Adding articles (`python -m rag bench`, section `add`)",
        "",
        f"Written by `python -m rag bench{' --quick' if opts.quick else ''} --skip {ALONE}` (or a full run); "
        "baselines measured in the same run. Rerun to refresh; do not edit by hand.",
        "",
        *machine_lines(report.machine),
        *target_lines(report.targets),
    ]
    for table in report.tables:
        lines += table_lines(table)
    lines.append(REPORT_END)
    return "\n".join(lines).rstrip() + "\n"
