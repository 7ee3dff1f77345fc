"""Benchmarks: `python -m rag bench` times this machine and writes docs/BENCHMARKS.md, each figure beside a baseline."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = REPO_ROOT / "docs" / "BENCHMARKS.md"
REPORT_START, REPORT_END = "<!-- bench:start -->", "<!-- bench:end -->"  # the rest of the file is left alone
SECTIONS = ("latency", "cold", "build", "scale", "eval", "add")  # "add": its own block, rag/bench_add.py
COLD_QUESTION = "Why did China ban Japanese seafood?"
NAIVE_IMPORT = "import torch, sentence_transformers"
NAIVE_FLOOR = [sys.executable, "-c", f"{NAIVE_IMPORT}; print('imported')"]
BASELINE_BUILD_PASSAGES = 10_000  # the torch build beside the big one runs on this many: it is the slow path
SCALE_QUERIES = 200
PARAGRAPHS_PER_ARTICLE = 50
TARGET_ASK_COLD_S = 2.5
TARGET_ANN_P50_MS = 5.0
TARGET_RECALL = 0.95
HEAVY_MODULES = ("torch", "sentence_transformers", "nltk", "transformers")


class BenchError(RuntimeError):
    """A measured command failed: the report cannot hold its figure."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Options:
    seeds: Path
    questions: Path
    output: Path = DEFAULT_REPORT
    repeats: int = 5
    passages: int = 100_000
    vectors: int = 1_000_000
    quick: bool = False
    skip: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Table:
    """One table of the report; rows are already formatted text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A target of the issue, the figure measured for it and the baseline measured beside it."""

    name: str
    value: str
    baseline: str
    verdict: str


@dataclass(frozen=True)
class Timing:
    """Per-round p50 and p95 (ms), each the median over rounds."""

    p50: float
    p95: float


@dataclass(frozen=True)
class BuildRun:
    passages: int
    sentences: int
    seconds: float
    embed_seconds: float
    peak_rss_mb: float

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    @property
    def embed_passages_per_s(self) -> float:
        return self.passages / self.embed_seconds if self.embed_seconds else 0.0


@dataclass(frozen=True)
class ScaleRun:
    kind: str
    vectors: int
    build_seconds: float
    disk_mb: float
    peak_rss_mb: float
    p50_ms: float
    recall: float


@dataclass(frozen=True)
class Report:
    machine: tuple[tuple[str, str], ...]
    targets: tuple[Target, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- small helpers


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def over_rounds(rounds: Sequence[Sequence[float]]) -> Timing:
    """Median over rounds of each round's p50 and p95: one noisy round moves neither much."""
    p50 = statistics.median(float(np.percentile(r, 50)) for r in rounds)
    p95 = statistics.median(float(np.percentile(r, 95)) for r in rounds)
    return Timing(ms(p50), ms(p95))


def timed(function: Callable, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def verdict_at_most(value: float, limit: float, unit: str) -> str:
    if value <= limit:
        return "met"
    return f"missed by {value - limit:.2f} {unit} ({(value / limit - 1) * 100:.0f}%)"


def verdict_at_least(value: float, floor: float) -> str:
    return "met" if value >= floor else f"missed by {floor - value:.3f}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env.pop("RAG_EMBED_BACKEND", None)
    env.update(extra)
    return env


def run_measured(cmd: Sequence[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    """Wall seconds and stdout of a command run from the repository root; a failure raises BenchError."""
    started = time.perf_counter()
    try:
        done = subprocess.run(list(cmd), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from err
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def peak_rss_mb() -> float:
    """This process's own high-water RSS. Not getrusage: on Linux a child's ru_maxrss starts from its
    parent's RSS at fork, so every child of this (model-laden) process would report at least that."""
    for line in read_lines("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- the machine


def machine_facts() -> tuple[tuple[str, str], ...]:
    from rag.embedding import cpu_count

    cpu = next(
        (line.split(":", 1)[1].strip() for line in read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    mem_kb = next((int(line.split()[1]) for line in read_lines("/proc/meminfo") if line.startswith("MemTotal")), 0)
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("onnxruntime", "faiss-cpu", "torch", "sentence-transformers", "transformers", "numpy")
    )
    return (
        ("CPU", f"{cpu}, {cpu_count()} cores usable, no GPU"),
        ("memory", f"{mem_kb / 1024 / 1024:.1f} GiB"),
        ("system", f"{platform.system()} {platform.release()}, Python {platform.python_version()}"),
        ("libraries", versions),
        ("run", time.strftime("%Y-%m-%d %H:%M %Z")),
    )


def read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


# ---------------------------------------------------------------- warm latency


def naive_search(model, flat, question: str) -> None:
    """The naive path: sentence-transformers (torch) encodes, a flat FAISS index searches."""
    vector = model.encode([question], normalize_embeddings=True, convert_to_numpy=True)
    flat.search(np.ascontiguousarray(vector, dtype=np.float32), 10)


def ask_round(assistant, questions: Sequence[str]) -> tuple[list[float], list[float], list[float]]:
    """ask() per question, with the query embedding timed inside it and retrieval timed beside it."""
    from rag.question import clean_question
    from rag.retrieval import Retriever, expand_acronyms

    embed_times: list[float] = []
    encode = assistant.encode_query

    def timed_encode(text):  # a timing hook on this instance only: answer.py is untouched
        seconds, vector = timed(encode, text)
        embed_times.append(seconds)
        return vector

    assistant.encode_query = timed_encode
    totals, embeds, retrievals = [], [], []
    try:
        for question in questions:
            embed_times.clear()
            seconds, _ = timed(assistant.ask, question)
            totals.append(seconds)
            embeds.append(sum(embed_times))
            index = assistant.index
            query = expand_acronyms(clean_question(question), index.acronyms)
            vector = encode(query)
            retrieval, _ = timed(lambda: Retriever(index).search(query, vector, top_k=8))
            retrievals.append(retrieval)
    finally:
        del assistant.encode_query
    return totals, embeds, retrievals


def encode_round(embedder, questions: Sequence[str]) -> list[float]:
    return [timed(embedder.encode, [q])[0] for q in questions]


def latency_section(opts: Options, index_dir: Path) -> tuple[list[Target], list[Table]]:
    from sentence_transformers import SentenceTransformer

    from rag import Assistant
    from rag.embedding import Embedder
    from rag.evaluation import load_questions
    from rag.store import import_faiss

    questions = [q.question for q in load_questions(opts.questions)]
    assistant = Assistant(seeds_dir=opts.seeds, index_dir=index_dir, embedder=Embedder())
    assistant.warm_up()
    backend = assistant.embedder.active_backend
    faiss = import_faiss()  # the serving thread setting (1), for the baseline's search too
    flat = faiss.IndexFlatIP(assistant.index.passage_vectors.shape[1])
    flat.add(np.ascontiguousarray(assistant.index.passage_vectors, dtype=np.float32))
    naive = SentenceTransformer(assistant.embedder.model, device="cpu")
    int8 = Embedder(backend="onnx-int8")
    int8.warm_up()
    flat_only = [assistant.embedder.encode([q])[0][None] for q in questions]
    rounds = max(2, opts.repeats)
    log(f"warm latency: {rounds} rounds of {len(questions)} questions ({backend} vs sentence-transformers + flat)")
    for question in questions[:5]:  # warm every path before timing
        naive_search(naive, flat, question)
        assistant.ask(question)
        int8.encode([question])
    base, base_encode, base_search, totals, embeds, retrievals, int8_times = ([] for _ in range(7))
    for _ in range(rounds):  # interleaved, so drift on a noisy machine hits both sides alike
        base.append([timed(naive_search, naive, flat, q)[0] for q in questions])
        base_encode.append([timed(naive.encode, [q])[0] for q in questions])
        base_search.append([timed(flat.search, v, 10)[0] for v in flat_only])
        total, embed, retrieval = ask_round(assistant, questions)
        totals.append(total)
        embeds.append(embed)
        retrievals.append(retrieval)
        int8_times.append(encode_round(int8, questions))
    compositions = [[t - e - r for t, e, r in zip(*parts)] for parts in zip(totals, embeds, retrievals)]
    ask, naive_t = over_rounds(totals), over_rounds(base)
    rows = [
        ("ask() total (hybrid retrieval + composition)", *fmt_timing(ask), "naive: encode + flat search", *fmt_timing(naive_t)),
        (f"query embedding ({backend})", *fmt_timing(over_rounds(embeds)), "sentence-transformers encode", *fmt_timing(over_rounds(base_encode))),
        ("query embedding (onnx-int8, opt-in)", *fmt_timing(over_rounds(int8_times)), "sentence-transformers encode", *fmt_timing(over_rounds(base_encode))),
        ("retrieval (FAISS + BM25 + fusion)", *fmt_timing(over_rounds(retrievals)), "flat FAISS search (k = 10)", *fmt_timing(over_rounds(base_search))),
        ("composition (ask - embedding - retrieval)", *fmt_timing(over_rounds(compositions)), "(none: the naive path has no answer)", "", ""),
    ]
    table = Table(
        "Warm latency per question (ms)",
        ("this code", "p50", "p95", "baseline, same process", "p50", "p95"),
        tuple(rows),
        (
            f"{len(questions)} eval questions x {rounds} rounds; p50/p95 per round, median over rounds; "
            "baseline and this code interleaved round by round.",
            "Retrieval is timed on its own right after each ask(); composition is the remainder of ask().",
            "FAISS runs 1 OpenMP thread for both sides (rag.store.SEARCH_THREADS).",
        ),
    )
    target = Target(
        "warm ask() p50 <= naive p50",
        f"{ask.p50:.2f} ms",
        f"{naive_t.p50:.2f} ms",
        verdict_at_most(ask.p50, naive_t.p50, "ms"),
    )
    return [target], [table]


def fmt_timing(timing: Timing) -> tuple[str, str]:
    return f"{timing.p50:.2f}", f"{timing.p95:.2f}"


# ---------------------------------------------------------------- cold start


def seconds_to_first_line(cmd: Sequence[str], env: dict[str, str], timeout: float = 300) -> float:
    """Process start to the first line on stdout (the answer's first line), then wait for a clean exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    _, stderr = proc.communicate(timeout=timeout)
    if proc.returncode != 0 or not line.strip():
        raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr[-2000:]}")
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds_to_first_page(seeds: Path, index_dir: Path, env: dict[str, str], timeout: float = 300) -> float:
    """`python app.py` start to the first 200 on /; the server (our own child) is stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    cmd = [sys.executable, "app.py", "--seeds", str(seeds), "--index", str(index_dir), "--port", str(port)]
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            while time.perf_counter() - started < timeout:
                if proc.poll() is not None:
                    err.seek(0)
                    raise BenchError(f"app.py exited ({proc.returncode}): {err.read().decode()[-2000:]}")
                if page_served(url):
                    return time.perf_counter() - started
                time.sleep(0.05)
            raise BenchError(f"app.py served nothing within {timeout:.0f} s")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def page_served(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def modules_loaded_by_ask(index_dir: Path, seeds: Path) -> list[str]:
    """The heavy modules a `python -m rag ask` process has imported by the time it has answered."""
    code = (
        "import json, sys; from rag.cli import main; "
        f"main(['--seeds', {str(seeds)!r}, '--index', {str(index_dir)!r}, 'ask', {COLD_QUESTION!r}]); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = run_measured([sys.executable, "-c", code], child_env(), 300)[1]
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    return [m for m in HEAVY_MODULES if m in loaded]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def cold_section(opts: Options, index_dir: Path) -> tuple[list[Target], list[Table]]:
    runs = 1 if opts.quick else 3
    ask_cmd = [sys.executable, "-m", "rag", "--seeds", str(opts.seeds), "--index", str(index_dir), "ask", COLD_QUESTION]
    log(f"cold start: python -m rag ask, app.py, import floor ({runs} runs each)")
    ours = median_of(runs, lambda: seconds_to_first_line(ask_cmd, child_env()))
    naive = median_of(runs, lambda: seconds_to_first_line(ask_cmd, child_env(RAG_EMBED_BACKEND="torch")))
    floor = median_of(runs, lambda: seconds_to_first_line(NAIVE_FLOOR, child_env()))
    heavy = modules_loaded_by_ask(index_dir, opts.seeds)
    rows = [
        ("python -m rag ask -> first answer", f"{ours:.2f} s", f"{naive:.2f} s (RAG_EMBED_BACKEND=torch)", f"{floor:.2f} s"),
    ]
    notes = [
        f"Median of {runs} run(s), process start to first line of output; index built, ONNX graph cached, OS "
        f"file cache warm. The floor is `python -c \"{NAIVE_IMPORT}\"`: what the naive path pays before it reads "
        "a byte of the index.",
        f"Heavy modules in sys.modules after `python -m rag ask` answered: {', '.join(heavy) or 'none'} "
        f"(checked: {', '.join(HEAVY_MODULES)}).",
    ]
    if (REPO_ROOT / "app.py").is_file():
        app_ours = median_of(runs, lambda: seconds_to_first_page(opts.seeds, index_dir, child_env()))
        app_naive = median_of(runs, lambda: seconds_to_first_page(opts.seeds, index_dir, child_env(RAG_EMBED_BACKEND="torch")))
        rows.append(("python app.py -> first page served", f"{app_ours:.2f} s", f"{app_naive:.2f} s (RAG_EMBED_BACKEND=torch)", f"{floor:.2f} s"))
    else:
        notes.append("app.py not found: the web app's cold start was skipped.")
    table = Table("Cold start", ("command", "this code", "baseline, same run", "naive floor"), tuple(rows), tuple(notes))
    target = Target(
        f"cold `python -m rag ask` <= {TARGET_ASK_COLD_S} s, no torch / sentence_transformers / nltk",
        f"{ours:.2f} s; heavy imports: {', '.join(heavy) or 'none'}",
        f"{naive:.2f} s (torch backend); floor {floor:.2f} s",
        f"missed: imports {', '.join(heavy)}" if heavy else verdict_at_most(ours, TARGET_ASK_COLD_S, "s"),
    )
    return [target], [table]


# ---------------------------------------------------------------- index builds


def seed_sentences(seeds: Path, index_dir: Path) -> list[str]:
    """Every sentence of the seed articles, as their index splits them."""
    from rag import Assistant

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


def timed_embedder():
    """The default embedder, model loaded, adding up the seconds and texts it spends encoding."""
    from rag.embedding import Embedder

    class TimedEmbedder(Embedder):
        seconds = 0.0
        texts = 0

        def encode(self, texts, show_progress=False):
            started = time.perf_counter()
            try:
                return super().encode(texts, show_progress)
            finally:
                self.seconds += time.perf_counter() - started
                self.texts += len(texts)

    embedder = TimedEmbedder()
    embedder.warm_up()  # model loading is not embedding
    return embedder


def build_worker(seeds: str, index_dir: str) -> None:
    """In a child process: build an index as `python -m rag index` does, timing the embedding apart."""
    from rag import Assistant

    embedder = timed_embedder()
    manifest = Assistant(seeds_dir=seeds, index_dir=index_dir, embedder=embedder).rebuild().manifest
    print(json.dumps({
        "passages": manifest["passages"], "sentences": manifest["sentences"],
        "embed_seconds": embedder.seconds, "peak_rss_mb": peak_rss_mb(),
    }))


def measure_build(seeds: Path, index_dir: Path, backend: str | None, timeout: float) -> BuildRun:
    shutil.rmtree(index_dir, ignore_errors=True)
    env = child_env(**({"RAG_EMBED_BACKEND": backend} if backend else {}))
    cmd = [sys.executable, "-m", "rag.bench", "build-worker", str(seeds), str(index_dir)]
    seconds, out = run_measured(cmd, env, timeout)
    data = json.loads(out.strip().splitlines()[-1])
    return BuildRun(data["passages"], data["sentences"], seconds, data["embed_seconds"], data["peak_rss_mb"])


def build_row(label: str, run: BuildRun) -> tuple[str, ...]:
    return (
        label,
        f"{run.passages:,}",
        f"{run.seconds:.1f} s",
        f"{run.passages_per_s:.0f}",
        f"{run.embed_passages_per_s:.0f}",
        f"{run.peak_rss_mb:.0f} MB",
    )


def build_section(opts: Options, workdir: Path, index_dir: Path) -> tuple[list[Target], list[Table], Path]:
    timeout = 6 * 3600
    runs: list[tuple[str, BuildRun]] = []
    log(f"index build: {opts.seeds.name}/ (default backend, then torch)")
    runs.append((f"{opts.seeds.name}/, this code", measure_build(opts.seeds, workdir / "b-seeds", None, timeout)))
    runs.append((f"{opts.seeds.name}/, baseline (torch)", measure_build(opts.seeds, workdir / "b-seeds-torch", "torch", timeout)))
    sentences = seed_sentences(opts.seeds, index_dir)
    corpus = workdir / "recombined"
    write_recombined_corpus(sentences, opts.passages, corpus)
    log(f"index build: {opts.passages:,} recombined passages (default backend); this is the long part")
    big = measure_build(corpus, workdir / "b-big", None, timeout)
    runs.append((f"{opts.passages:,} recombined, this code", big))
    sample = min(opts.passages, BASELINE_BUILD_PASSAGES)
    sample_corpus = workdir / "recombined-sample"
    write_recombined_corpus(sentences, sample, sample_corpus)
    log(f"index build: {sample:,} recombined passages (torch baseline)")
    runs.append((f"{sample:,} recombined, baseline (torch)", measure_build(sample_corpus, workdir / "b-sample-torch", "torch", timeout)))
    per_hour = big.passages_per_s * 3600
    notes = (
        "Each build is a fresh `python -m rag index` equivalent in a child process (ingest, Punkt training, "
        "chunking, embedding every passage and every sentence, BM25, FAISS, checksummed publish); time is "
        "wall clock from process start, peak RSS the child's own (VmHWM). One run each.",
        f"Recombined corpus: {len(sentences)} seed sentences drawn 2-4 at a time into paragraphs, "
        f"{PARAGRAPHS_PER_ARTICLE} per article. The torch baseline for it runs on {sample:,} passages of the "
        "same generator: at its speed the full size would add as long again to this benchmark.",
        f"Embedding throughput at {big.passages:,} passages: {big.embed_passages_per_s:.0f} passages/s counting "
        f"each passage's {big.sentences / max(big.passages, 1):.1f} sentences, which are embedded too "
        f"({(big.passages + big.sentences) / max(big.embed_seconds, 1e-9):.0f} texts/s). Build throughput "
        f"{big.passages_per_s:.0f} passages/s, so the default setup indexes about {per_hour:,.0f} passages "
        "within an hour here (linear extrapolation; every stage but k-means is linear in passages).",
    )
    table = Table(
        "Index build",
        ("corpus", "passages", "wall time", "passages/s", "passages/s embedding only", "peak RSS"),
        tuple(build_row(label, run) for label, run in runs),
        notes,
    )
    torch_sample = runs[-1][1]
    target = Target(
        f"build throughput at {big.passages:,} passages (no numeric target); corpus indexed in an hour",
        f"{big.passages_per_s:.0f} passages/s, ~{per_hour:,.0f} passages/hour, peak RSS {big.peak_rss_mb:.0f} MB",
        f"{torch_sample.passages_per_s:.0f} passages/s (torch, {torch_sample.passages:,} passages)",
        "reported",
    )
    return [target], [table], workdir / "b-big"


# ---------------------------------------------------------------- scale (ANN)


def synthetic_vectors(base: np.ndarray, count: int, seed: int, chunk: int = 100_000) -> np.ndarray:
    """Vectors shaped like real embeddings: a random convex mix of two real passage vectors (weights
    0.5-1 / 0-0.5) plus small isotropic noise, normalised. Uniform random vectors would be no test at all:
    in 384 dimensions they have no neighbourhoods for an index to exploit or to miss."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((count, dim), dtype=np.float32)
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
        block = queries @ vectors[start : start + chunk].T
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
        scores = vectors[np.asarray(list(rows)[:k], dtype=np.int64)] @ query
        shares.append(min(k, int(np.sum(scores >= kth - 1e-5))) / k)
    return float(np.mean(shares))


def scale_worker(base_path: str, queries_path: str, count: int, kind: str) -> None:
    """In a child process (so its peak RSS is its own): build one index over synthetic vectors, time it."""
    from rag.store import VectorIndex

    base = np.load(base_path)
    real = kind.startswith("real-")  # the base vectors themselves, else `count` synthetic ones made from them
    vectors = base if real else synthetic_vectors(base, count, seed=0)
    kind = kind.removeprefix("real-")
    queries = np.load(queries_path)
    build_seconds, index = timed(lambda: VectorIndex(vectors, kind=kind))
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "x.faiss")
        disk_mb = (Path(tmp) / "x.faiss").stat().st_size / 2**20
    for q in queries[:10]:
        index.search(q, 10)
    times, found = [], []
    for q in queries:
        seconds, hits = timed(index.search, q, 10)
        times.append(seconds)
        found.append([h.row for h in hits])
    truth = exact_top(vectors, queries, 10)
    result = {
        "kind": index.kind, "vectors": len(vectors), "build_seconds": build_seconds, "disk_mb": disk_mb,
        "p50_ms": ms(statistics.median(times)), "recall": recall_at_k(found, vectors, queries, truth, 10), "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result))


def measure_scale(base: Path, queries: Path, count: int, kind: str) -> ScaleRun:
    cmd = [sys.executable, "-m", "rag.bench", "scale-worker", str(base), str(queries), str(count), kind]
    out = run_measured(cmd, child_env(), 3 * 3600)[1]
    data = json.loads(out.strip().splitlines()[-1])
    return ScaleRun(
        data["kind"], data["vectors"], data["build_seconds"], data["disk_mb"], data["peak_rss_mb"], data["p50_ms"], data["recall"]
    )


def scale_inputs(opts: Options, workdir: Path, big_build: Path | None, index_dir: Path) -> tuple[Path, Path, str]:
    """Base vectors (the big build's real passage vectors, else the seeds') and queries: the eval questions'
    vectors plus held-out synthetic ones, so recall is measured on more than 30 points."""
    from rag.embedding import Embedder
    from rag.evaluation import load_questions
    from rag.store import BuildStore

    source = BuildStore(big_build).current() if big_build else None
    source = source or BuildStore(index_dir).current()
    base = np.load(source / "passage_vectors.npy")
    questions = Embedder().encode([q.question for q in load_questions(opts.questions)])
    held_out = synthetic_vectors(base, max(0, SCALE_QUERIES - len(questions)), seed=1)
    base_path, queries_path = workdir / "scale-base.npy", workdir / "scale-queries.npy"
    np.save(base_path, base)
    np.save(queries_path, np.vstack([questions, held_out]).astype(np.float32))
    return base_path, queries_path, f"{len(base):,} real passage vectors ({source.parent.name})"


def scale_row(label: str, run: ScaleRun) -> tuple[str, ...]:
    return (
        label, run.kind, f"{run.vectors:,}", f"{run.build_seconds:.1f} s", f"{run.disk_mb:.0f} MB",
        f"{run.peak_rss_mb:.0f} MB", f"{run.p50_ms:.2f} ms", f"{run.recall:.3f}",
    )


def scale_section(opts: Options, workdir: Path, big_build: Path | None, index_dir: Path) -> tuple[list[Target], list[Table]]:
    from rag.store import FLAT_BELOW, IVF_PROBES

    base, queries, source = scale_inputs(opts, workdir, big_build, index_dir)
    real_count = len(np.load(base, mmap_mode="r"))
    runs: list[tuple[str, ScaleRun]] = []
    if real_count >= 1000:
        log(f"scale: {real_count:,} real vectors, flat vs auto")
        runs.append(("real vectors, baseline", measure_scale(base, queries, real_count, "real-flat")))
        runs.append(("real vectors, auto", measure_scale(base, queries, real_count, "real-auto")))
    log(f"scale: {opts.vectors:,} synthetic vectors, flat vs auto")
    flat = measure_scale(base, queries, opts.vectors, "flat")
    auto = measure_scale(base, queries, opts.vectors, "auto")
    runs += [("synthetic, baseline", flat), ("synthetic, auto", auto)]
    table = Table(
        "Dense index at scale (384-d, search k = 10, 1 thread)",
        ("vectors", "index", "count", "build", "on disk", "peak RSS", "search p50", "recall@10"),
        tuple(scale_row(label, run) for label, run in runs),
        (
            f"Base: {source}. Synthetic vectors mix two real ones plus noise (rag.bench.synthetic_vectors); "
            f"queries: the eval questions' vectors plus held-out synthetic ones, {SCALE_QUERIES} in all.",
            f"`kind=\"auto\"` (rag.store.VectorIndex) is flat below {FLAT_BELOW:,} vectors and IVF-Flat above "
            f"(4 sqrt(n) k-means lists, nprobe {IVF_PROBES}). Recall@10 is against exact search over the same vectors.",
            "Peak RSS is the whole child process: the vectors themselves (1.5 GB per million) plus the index.",
        ),
    )
    targets = [
        Target(
            f"{opts.vectors:,} vectors: ANN search p50 <= {TARGET_ANN_P50_MS} ms, recall@10 >= {TARGET_RECALL}",
            f"{auto.kind}: {auto.p50_ms:.2f} ms, recall {auto.recall:.3f}",
            f"flat: {flat.p50_ms:.2f} ms, recall {flat.recall:.3f}",
            combine(verdict_at_most(auto.p50_ms, TARGET_ANN_P50_MS, "ms"), verdict_at_least(auto.recall, TARGET_RECALL)),
        )
    ]
    return targets, [table]


def combine(*verdicts: str) -> str:
    missed = [v for v in verdicts if v != "met"]
    return "; ".join(missed) if missed else "met"


# ---------------------------------------------------------------- eval quality per backend


def eval_section(opts: Options, workdir: Path, index_dir: Path) -> tuple[list[Target], list[Table]]:
    from rag import Assistant
    from rag.embedding import AUTO_ONNX, Embedder
    from rag.evaluation import evaluate, load_questions

    questions = load_questions(opts.questions)
    results = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        log(f"eval: {backend}")
        embedder = Embedder(backend=backend)
        folder = workdir / "eval-int8" if backend == "onnx-int8" else index_dir  # int8 vectors get their own index
        results[backend] = evaluate(Assistant(seeds_dir=opts.seeds, index_dir=folder, embedder=embedder), questions)
    metrics = (
        ("retrieval recall@5 (hybrid)", lambda r: r["retrieval"]["hybrid"]["recall@5"]),
        ("retrieval MRR@10 (hybrid)", lambda r: r["retrieval"]["hybrid"]["mrr@10"]),
        ("retrieval MRR@10 (dense)", lambda r: r["retrieval"]["dense"]["mrr@10"]),
        ("facts", lambda r: r["facts"]),
        ("grounded", lambda r: r["grounded"]),
        ("abstain", lambda r: r["abstain"]),
        ("false abstain", lambda r: r["false_abstain"]),
    )
    rows = tuple((name, *(f"{get(results[b]):.3f}" for b in results)) for name, get in metrics)
    worst = max(abs(get(results[AUTO_ONNX]) - get(results["torch"])) for _, get in metrics)
    table = Table(
        "Eval quality per embedding backend (`python -m rag eval`)",
        ("figure", "torch (baseline)", "onnx (default)", "onnx-int8"),
        rows,
        (
            f"{len(questions)} questions ({opts.questions.name}). onnx-int8 embeds the index with the int8 graph "
            "too (its own index, its own model id); torch and onnx share one index.",
        ),
    )
    target = Target(
        "default backend's eval within 1 point of torch",
        f"{AUTO_ONNX}: largest difference {worst * 100:.1f} points",
        "torch: " + ", ".join(f"{name} {get(results['torch']):.3f}" for name, get in metrics[:4]),
        "met" if worst <= 0.01 + 1e-9 else f"missed by {(worst - 0.01) * 100:.1f} points",
    )
    return [target], [table]


# ---------------------------------------------------------------- the report


def render(report: Report, opts: Options, skipped: Sequence[str]) -> str:
    lines = [
        REPORT_START,
        "## Performance (`python -m rag bench`)",
        "",
        f"Written by `python -m rag bench{' --quick' if opts.quick else ''}`; every figure beside a baseline "
        "measured in the same run. Rerun to refresh; do not edit by hand.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in report.machine),
        "",
    ]
    if report.targets:
        lines += ["### Targets", "", "| target | this code | baseline, same run | verdict |", "|---|---|---|---|"]
        lines += [f"| {t.name} | {t.value} | {t.baseline} | {t.verdict} |" for t in report.targets]
        lines.append("")
    for table in report.tables:
        lines += [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines += [""] + [f"- {note}" for note in table.notes] + ([""] if table.notes else [])
    if skipped:
        lines += [f"Skipped in this run: {', '.join(skipped)}.", ""]
    lines += [f"- {note}" for note in report.notes]
    lines += ["", "### Choices behind the defaults", ""] + [f"- {choice}" for choice in CHOICES]
    lines.append(REPORT_END)
    return "\n".join(lines).rstrip() + "\n"


def write_report(path: Path, section: str, start: str = REPORT_START, end: str = REPORT_END) -> None:
    """Replace one marked section of the report (`section` includes its markers; a new one goes after the
    title), leaving the other sections alone."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        title, _, body = old.partition("\n")
        new = f"{title}\n\n{section}\n{body.lstrip()}" if body.strip() else f"{title}\n\n{section}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new if new.endswith("\n") else new + "\n", encoding="utf-8")


NOTES = (
    "Targets missed on a run are reported as measured, not retried: this is a shared 2-core VM and "
    "timings move by 10-30% between runs.",
)
# Why the defaults are what they are: figures measured once while choosing, on this machine, not rerun here.
CHOICES = (
    "**Embedding backend.** `Embedder(backend=\"auto\")` (or `$RAG_EMBED_BACKEND`) runs all-MiniLM-L6-v2 as an "
    "ONNX graph under onnxruntime: transformer + mean pooling + L2 normalisation, as the model's modules.json "
    "describes, exported once with `torch.onnx.export` into `index/models/<model fingerprint>/onnx-v2/` (or "
    "`$RAG_MODEL_CACHE`), written atomically and checked against torch before use (cosine >= 0.9999, padding "
    "included). Queries are tokenised by `tokenizers` from tokenizer.json (truncation at 256, padding per "
    "batch): no torch, transformers or sentence-transformers on the query path. torch stays the reference and "
    "the fallback (`auto` falls back to it when the export fails; `backend=\"torch\"` forces it).",
    "**fp32, not int8, by default.** The fp32 graph reproduces torch's vectors (cosine 1.0000), so an index built "
    "by either serves the other and eval figures are identical. `onnx-int8` (dynamic quantisation, weights per "
    "channel: mean cosine to fp32 0.994 on the eval questions, against 0.969 with one scale per tensor) halves "
    "query time but, used for the index as well, costs a fact in the eval (see the eval table). Measured "
    "aside: an fp32 index queried with int8 vectors kept every eval figure at ask() p50 4.2 ms, but the "
    "callers (assistant.py, answer.py) would need to tell query from passage encoding to use it safely.",
    "**Export details.** Eager attention traces to MatMul/Softmax, which onnxruntime runs 15-20% faster in bulk "
    "than the traced SDPA path; batches of 16 beat 64 by ~35% on these cores; 2 intra-op threads answer a lone "
    "question faster than 1 (ask() p50 5.0 vs 6.5 ms) at ~15% less throughput under two concurrent askers.",
    "**FAISS threads.** One OpenMP thread per search (`faiss.omp_set_num_threads(1)` on first import, every core "
    "only while building): with FAISS's default 2 threads spinning beside the embedder's, ask() p50 was 383 ms "
    "instead of 9 ms (torch backend).",
    "**Approximate index.** `VectorIndex(kind=\"auto\")` is flat (exact) below 20,000 vectors, IVF-Flat above "
    "(4 sqrt(n) lists, nprobe 64). In a trial on 1M synthetic vectors made from 20k real ones, IVF built in "
    "32 s (k-means 21 s + add 11 s) and searched in 1.4 ms at recall@10 0.993 with nprobe 32 (2.5 ms, 0.995 "
    "with 64); HNSW (M 32, efConstruction 64) took 127 s to build and reached recall 0.976 at efSearch 128 "
    "(0.47 ms). Both meet the target; IVF builds 4x faster and has the recall margin. nprobe 64 rather than 32 "
    "because at 20k-200k vectors 32 probes gave recall 0.946-0.969 only.",
)


def run(opts: Options) -> tuple[Report, tuple[list, list] | None]:
    """Every section not skipped, in an order that reuses work: the seed index, then the big build's vectors.
    Returns the main report and the "add" section's targets and tables (None when skipped)."""
    from rag import bench_add
    from rag.store import BuildStore

    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    index_dir = workdir / "index"
    targets: list[Target] = []
    tables: list[Table] = []
    added = None
    os.environ["RAG_UPLOADS"] = str(workdir / "no-uploads")  # this checkout's uploads stay out of every corpus
    try:
        prepare_index(opts, index_dir)
        if "latency" not in opts.skip:
            add(targets, tables, latency_section(opts, index_dir))
        if "cold" not in opts.skip:
            add(targets, tables, cold_section(opts, index_dir))
        big_build = None
        if "build" not in opts.skip:
            build_targets, build_tables, big_build = build_section(opts, workdir, index_dir)
            add(targets, tables, (build_targets, build_tables))
        if "scale" not in opts.skip:
            add(targets, tables, scale_section(opts, workdir, big_build, index_dir))
        if "eval" not in opts.skip:
            add(targets, tables, eval_section(opts, workdir, index_dir))
        if "add" not in opts.skip:
            built = BuildStore(big_build).current() if big_build else None
            seconds = BuildStore.read_manifest(built).get("build_seconds") if built else None
            added = bench_add.section(opts, workdir, big_build, seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Report(machine_facts(), tuple(targets), tuple(tables), NOTES), added


def add(targets: list, tables: list, section: tuple[list, list]) -> None:
    targets += section[0]
    tables += section[1]


def prepare_index(opts: Options, index_dir: Path) -> None:
    """The seed index every section shares, built by the default backend (exporting the graph if needed)."""
    from rag import Assistant

    log(f"building the seed index in {index_dir}")
    Assistant(seeds_dir=opts.seeds, index_dir=index_dir).warm_up()


def main(opts: Options) -> int:
    from rag import bench_add

    started = time.perf_counter()
    report, added = run(opts)
    main_sections = [s for s in SECTIONS if s != "add"]
    skipped = [s for s in main_sections if s in opts.skip]
    if len(skipped) < len(main_sections):  # a run of the add section alone leaves the main block as it is
        section = render(report, opts, skipped)
        write_report(opts.output, section)
        print(section)
    if added is not None:
        block = bench_add.render(*added, opts)
        write_report(opts.output, block, bench_add.REPORT_START, bench_add.REPORT_END)
        print(block)
    log(f"wrote {opts.output} in {time.perf_counter() - started:.0f} s")
    return 0


def worker_main(argv: Sequence[str]) -> int:
    """`python -m rag.bench build-worker SEEDS INDEX` / `scale-worker BASE QUERIES COUNT KIND` /
    `add-base-worker CORPUS INDEX` / `add-worker CORPUS INDEX UPLOADS ARTICLES` (internal)."""
    parser = argparse.ArgumentParser(prog="python -m rag.bench")
    sub = parser.add_subparsers(dest="worker", required=True)
    p = sub.add_parser("build-worker")
    p.add_argument("seeds")
    p.add_argument("index")
    p = sub.add_parser("scale-worker")
    p.add_argument("base")
    p.add_argument("queries")
    p.add_argument("count", type=int)
    p.add_argument("kind")
    p = sub.add_parser("add-base-worker")
    p.add_argument("corpus")
    p.add_argument("index")
    p = sub.add_parser("add-worker")
    p.add_argument("corpus")
    p.add_argument("index")
    p.add_argument("uploads")
    p.add_argument("articles")
    args = parser.parse_args(argv)
    if args.worker == "build-worker":
        build_worker(args.seeds, args.index)
    elif args.worker == "scale-worker":
        scale_worker(args.base, args.queries, args.count, args.kind)
    else:
        from rag import bench_add

        if args.worker == "add-base-worker":
            bench_add.base_worker(args.corpus, args.index)
        else:
            bench_add.add_worker(args.corpus, args.index, args.uploads, args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
