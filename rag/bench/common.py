"""What every benchmark section shares: options, result types, timing, child processes, the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_REPORT = REPO_ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_SCALING = REPO_ROOT / "docs" / "SCALING.md"
SECTIONS = ("latency", "cold", "build", "ray", "scale", "eval", "add")  # "add" writes its own block (add.py)
TARGET_ASK_COLD_S = 2.5
TARGET_ANN_P50_MS = 5.0
TARGET_RECALL = 0.95


class BenchError(RuntimeError):
    """A measured command failed: the report cannot hold its figure."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Options:
    seeds: Path
    questions: Path
    output: Path = DEFAULT_REPORT
    scaling: Path = DEFAULT_SCALING
    repeats: int = 5
    passages: int = 100_000  # the build benchmark's corpus (the Ray build runs on the same one)
    vectors: int = 2_000_000  # the served-from-disk benchmark's synthetic vectors
    serving_sizes: tuple[int, ...] = (100_000, 1_000_000)  # milvus-lite, FAISS IVF and BM25 beside each other
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
    """One index build in a child process: counts, wall time, time inside the embedder, peak memory."""

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
    """One dense index over many vectors: built in one child, served (searched) in another."""

    kind: str
    vectors: int
    build_seconds: float
    disk_mb: float  # the index file, plus the vectors file an index served from disk re-ranks from
    rss_mb: float  # resident memory of the serving process after its queries
    peak_rss_mb: float  # its high-water mark
    p50_ms: float
    recall: float
    cpu_ms: float = 0.0  # CPU time per query, every thread of the process (milvus-lite serves in-process)

    @classmethod
    def from_worker(cls, data: dict, disk_bytes: int) -> "ScaleRun":
        """A run from the JSON a serving child printed, and the bytes its index (and vectors) take on disk."""
        return cls(data["kind"], data["vectors"], data["build_seconds"], disk_bytes / 2**20, data["rss_mb"],
                   data["peak_rss_mb"], data["p50_ms"], data["recall"], data["cpu_ms"])


@dataclass(frozen=True)
class Report:
    machine: tuple[tuple[str, str], ...]
    targets: tuple[Target, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchRun:
    """What one run produced: the main report, SCALING.md's measured part and serving block, and the "add"
    section's report (None when not measured: the file keeps what it had)."""

    report: Report
    scaling: str | None = None
    added: Report | None = None
    serving: str | None = None  # SCALING.md's serving block, when the scale section ran


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


def timed_embedder():
    """The default embedder, model loaded (loading is not embedding), adding up the seconds it spends
    encoding and the texts it is given (a late-chunked passage counts once: one forward pass)."""
    from rag.index.embedder import Embedder

    class TimedEmbedder(Embedder):
        seconds = 0.0
        texts = 0
        depth = 0  # encode_in_context calls encode for sentences truncation cut off: time the outer call only

        def timing(self, method, texts, *args):
            self.depth += 1
            started = time.perf_counter()
            try:
                return method(texts, *args)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.seconds += time.perf_counter() - started
                    self.texts += len(texts)

        def encode(self, texts, show_progress=False):
            return self.timing(super().encode, texts, show_progress)

        def encode_in_context(self, texts, spans, show_progress=False):
            return self.timing(super().encode_in_context, texts, spans, show_progress)

    embedder = TimedEmbedder()
    embedder.warm_up()
    return embedder


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


def worker_json(cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> dict:
    """Run a bench child (`run_measured`) and read the JSON object it prints as its last line."""
    return json.loads(run_measured(cmd, env or child_env(), timeout)[1].strip().splitlines()[-1])


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def resident_mb() -> float:
    """This process's resident memory now (VmRSS): memory-mapped file pages it has touched count too."""
    for line in read_lines("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
    from rag.index.encoder import cpu_count

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

