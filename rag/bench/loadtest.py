"""Bounded REST load test on loopback: N concurrent clients each POST M questions to /api/ask.

`python -m rag.bench.loadtest [--url URL] [--clients 16] [--questions 50] [--report docs/BENCHMARKS.md]`
Without --url it starts `app.py` on a free loopback port in a subprocess (a real server) and stops it after.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[2]
REPORT_START, REPORT_END = "<!-- load-test:start -->", "<!-- load-test:end -->"
HOSTILE = ("", "   ", "<script>alert(1)</script>", "🐟" * 50, "x" * 5000)


@dataclass(frozen=True)
class LoadResult:
    clients: int
    requests: int
    errors: int
    status_counts: dict
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def default_questions() -> list[str]:
    from rag.evaluate.evaluation import DEFAULT_QUESTIONS, load_questions

    asked = [q.question for q in load_questions(DEFAULT_QUESTIONS)] if DEFAULT_QUESTIONS.exists() else []
    return (asked or ["Why did China ban Japanese seafood?"]) + list(HOSTILE)


def require_loopback(url: str) -> None:
    """Load goes to this machine only."""
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or host == "::1" or host.startswith("127.")):
        raise ValueError(f"refusing to load-test a non-loopback address: {host}")


def run_load(base_url: str, clients: int, per_client: int, questions: list[str], timeout: float = 60.0) -> LoadResult:
    """Every client sends `per_client` requests, one after another; all clients run at once."""
    require_loopback(base_url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()

    def client(number: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, timeout=timeout) as http:
            for i in range(per_client):
                question = questions[(number * per_client + i) % len(questions)]
                started = time.perf_counter()
                try:
                    response = http.post("/api/ask", json={"question": question})
                    status, body = response.status_code, response.json()
                    # a blank question is a client error by design (422); anything else must be answered
                    blank_refused = status == 422 and not question.strip() and "error" in body
                    ok = "answer" in body if status == 200 else blank_refused
                except (httpx.HTTPError, ValueError):
                    status, ok = -1, False
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    errors += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        clients=clients,
        requests=len(latencies),
        errors=errors,
        status_counts=dict(sorted(statuses.items())),
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p95_ms=ordered[int(0.95 * (len(ordered) - 1))] * 1000 if ordered else 0.0,
        max_ms=ordered[-1] * 1000 if ordered else 0.0,
    )


def format_result(result: LoadResult) -> str:
    return "\n".join(
        [
            f"REST load test: {result.clients} concurrent clients x {result.requests // max(result.clients, 1)} "
            f"questions against `POST /api/ask` on loopback (`python -m rag.bench.loadtest`), {os.cpu_count()} CPU cores.",
            "",
            "| requests | errors | status codes | wall time | throughput | p50 | p95 | max |",
            "|---|---|---|---|---|---|---|---|",
            f"| {result.requests} | {result.errors} | {result.status_counts} | {result.seconds:.1f} s | "
            f"{result.throughput:.1f} req/s | {result.p50_ms:.0f} ms | {result.p95_ms:.0f} ms "
            f"| {result.max_ms:.0f} ms |",
            "",
            "The questions cycle through the dev set plus hostile ones (empty, blank, markup, emoji, 5,000 characters);"
            " an empty question answered with 422 and a JSON error counts as correct.",
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(timeout: float = 300.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # uvicorn logs every request
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("app.py exited before serving")
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("app.py did not serve in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.loadtest", description=__doc__)
    parser.add_argument("--url", help="a running app (default: start app.py on a free loopback port)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--questions", type=int, default=50, help="questions per client")
    parser.add_argument("--report", type=Path, help="markdown file whose load-test section to (re)write")
    args = parser.parse_args(argv)
    process = None
    url = args.url
    if url is None:
        process, url = start_app()
    try:
        result = run_load(url, args.clients, args.questions, default_questions())
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    text = format_result(result)
    print(text)
    if args.report:
        from rag.bench import write_report

        section = f"{REPORT_START}\n## Concurrent load\n\n{text}\n{REPORT_END}\n"
        write_report(args.report, section, REPORT_START, REPORT_END)
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
