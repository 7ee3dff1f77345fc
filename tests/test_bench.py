"""The benchmark: it runs end to end on a tiny corpus and writes its report section; and the dense index it
measures at scale (flat below a threshold, IVF above) against brute force. No timing is asserted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag import bench
from rag.store import SEARCH_THREADS, VectorIndex, import_faiss

from conftest import REPO, brute_force, clustered

QUESTIONS = [
    {"id": "terminal-date", "question": "When was the Northport container terminal approved?", "answerable": True,
     "evidence": ["3 March 2021"], "must": ["3 March 2021"]},
    {"id": "mayor", "question": "Who argued the project would create jobs?", "answerable": True,
     "evidence": ["Alice Brennan"], "must": ["Brennan"]},
    {"id": "mars", "question": "How many moons does Mars have?", "answerable": False},
]


# ---------------------------------------------------------------- the dense index


def test_auto_is_exact_below_the_threshold():
    rng = np.random.default_rng(1)
    points = clustered(rng, 305)
    vectors, queries = points[:300], points[300:]
    index = VectorIndex(vectors, flat_below=1000)
    assert index.kind == "flat"
    for query in queries:
        assert [s.row for s in index.search(query, 10)] == brute_force(vectors, query, 10)


def test_auto_switches_to_ivf_above_the_threshold_with_high_recall(tmp_path):
    rng = np.random.default_rng(7)
    points = clustered(rng, 2050)
    vectors, queries = points[:2000], points[2000:]
    index = VectorIndex(vectors, flat_below=100, nprobe=2)  # 51 lists, 2 searched: really approximate
    assert index.kind == "ivf" and len(index) == 2000
    recall = np.mean([len({s.row for s in index.search(q, 10)} & set(brute_force(vectors, q, 10))) / 10 for q in queries])
    assert recall >= 0.9
    hits = index.search(queries[0], 10)
    assert [round(s.score, 5) for s in hits] == sorted((round(s.score, 5) for s in hits), reverse=True)
    index.save(tmp_path / "ivf.faiss")
    loaded = VectorIndex.load(tmp_path / "ivf.faiss")
    assert loaded.kind == "ivf" and loaded.search(queries[0], 10) == hits  # nprobe travels with the file
    assert len(index.search(queries[0], 5000)) <= 2000


def test_faiss_searches_on_one_thread_even_after_a_build():
    VectorIndex(clustered(np.random.default_rng(3), 2000), flat_below=100)
    assert import_faiss().omp_get_max_threads() == SEARCH_THREADS
    with pytest.raises(ValueError):
        VectorIndex(np.eye(3, dtype=np.float32), kind="hnsw")


# ---------------------------------------------------------------- pieces of the benchmark


def test_exact_top_matches_a_full_sort():
    rng = np.random.default_rng(5)
    points = clustered(rng, 1007)
    vectors, queries = points[:1000], points[1000:]
    got = bench.exact_top(vectors, queries, 10, chunk=128)
    assert [list(row) for row in got] == [brute_force(vectors, q, 10) for q in queries]


def test_recall_counts_a_tie_with_the_kth_as_found():
    vectors = np.array([[1, 0], [0.6, 0.8], [0.6, 0.8], [0, 1]], dtype=np.float32)  # rows 1 and 2 are equal
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    truth = bench.exact_top(vectors, query, 2)
    assert bench.recall_at_k([[0, 2]], vectors, query, truth, 2) == 1.0  # the other copy of the 2nd best
    assert bench.recall_at_k([[0, 3]], vectors, query, truth, 2) == 0.5


def test_synthetic_vectors_are_unit_length_and_reproducible():
    base = clustered(np.random.default_rng(2), 50, d=8)
    a, b = bench.synthetic_vectors(base, 300, seed=0, chunk=64), bench.synthetic_vectors(base, 300, seed=0, chunk=64)
    assert a.shape == (300, 8) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5) and np.array_equal(a, b)


def test_recombined_corpus_has_the_asked_number_of_paragraphs(tmp_path):
    sentences = [f"Sentence number {i} says something about the harbour." for i in range(20)]
    articles = bench.write_recombined_corpus(sentences, 120, tmp_path)
    texts = [p.read_text() for p in sorted(tmp_path.glob("*.txt"))]
    assert articles == len(texts) == 3
    assert sum(len(t.strip().split("\n\n")) - 1 for t in texts) == 120  # minus each title


def test_the_report_section_is_replaced_and_other_sections_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## Concurrent load\n\n<!-- load-test:start -->\nkept\n<!-- load-test:end -->\n")
    bench.write_report(path, f"{bench.REPORT_START}\nfirst\n{bench.REPORT_END}\n")
    bench.write_report(path, f"{bench.REPORT_START}\nsecond\n{bench.REPORT_END}\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n") and "second" in text and "first" not in text
    assert text.count(bench.REPORT_START) == 1 and "kept" in text


# ---------------------------------------------------------------- end to end


def test_bench_runs_on_a_tiny_corpus_and_writes_the_report(small_corpus, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    report = tmp_path / "BENCHMARKS.md"
    cmd = [
        sys.executable, "-m", "rag", "--seeds", str(small_corpus), "bench", "--quick", "--passages", "150",
        "--scale", "3000", "--skip", "cold,add", "--questions", str(questions), "--output", str(report),
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    for heading in ("### Targets", "### Warm latency", "### Index build", "### Ray Data build", "### Dense index at scale", "### Eval quality"):
        assert heading in text
    assert "late chunking" in text and "served from disk" in text and "same top 10 for" in text
    scaling = (tmp_path / "SCALING.md").read_text()
    assert "Projected to 20 million paragraphs" in scaling and "core-hours" in scaling
    assert "| CPU |" in text and "Skipped in this run: cold." in text
    assert "warm ask() p50 <= naive p50" in text and "recall@10" in text
    assert text.count(bench.REPORT_START) == 1 and text.rstrip().endswith(bench.REPORT_END)


def test_the_add_section_alone_leaves_the_main_report_as_it_is(small_corpus, tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text(f"# Benchmarks\n\n{bench.REPORT_START}\nearlier figures\n{bench.REPORT_END}\n")
    cmd = [
        sys.executable, "-m", "rag", "--seeds", str(small_corpus), "bench", "--quick", "--passages", "120",
        "--skip", "latency,cold,build,scale,eval", "--output", str(report),
    ]
    done = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "earlier figures" in text and "remove one article" in text
    assert "| add one article to a 1" in text and "stand-in vectors" in text and "extrapolated from" in text
