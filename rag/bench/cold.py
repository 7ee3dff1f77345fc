"""Cold start: `python -m rag ask` and `python app.py` from process start, beside the torch backend."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from rag.bench.common import (
    REPO_ROOT,
    TARGET_ASK_COLD_S,
    BenchError,
    Options,
    Table,
    Target,
    child_env,
    log,
    run_measured,
    verdict_at_most,
)

COLD_QUESTION = "Why did China ban Japanese seafood?"
NAIVE_IMPORT = "import torch, sentence_transformers"
NAIVE_FLOOR = [sys.executable, "-c", f"{NAIVE_IMPORT}; print('imported')"]
HEAVY_MODULES = ("torch", "sentence_transformers", "nltk", "transformers")


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
