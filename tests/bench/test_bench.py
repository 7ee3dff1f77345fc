"""The benchmark: it runs end to end on a tiny corpus and writes its report section; the "add" section's
stand-in embedder and report; and the dense index it measures at scale (flat below a threshold, IVF above)
against brute force. No timing is asserted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag import bench
from rag.bench import add as bench_add
from rag.bench.common import BuildRun, Report, timed_embedder
from rag.index.vectors import SEARCH_THREADS, VectorIndex, import_faiss

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


def test_the_latency_round_sees_the_query_embedding_inside_ask(seed_assistant):
    from rag.bench.latency import ask_round

    questions = ["Why did China ban Japanese seafood?", "When was the water released?"]
    totals, embeds, retrievals = ask_round(seed_assistant, questions)
    assert len(totals) == len(embeds) == len(retrievals) == 2
    assert all(0 < embed < total for embed, total in zip(embeds, totals))  # the hook saw ask()'s own encoding
    assert "encode" not in vars(seed_assistant.embedder)  # and is gone afterwards


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
        "--skip", "latency,cold,build,ray,scale,eval", "--output", str(report),
    ]
    done = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "earlier figures" in text and "remove one article" in text
    assert text.count(bench.ADD_START) == 1 and text.count(bench.ADD_END) == 1
    assert "| add one article to a 1" in text and "stand-in vectors" in text
    assert "from-scratch build of the same generator's corpus" in text and "--skip latency,cold,build,ray,scale,eval" in text


# ---------------------------------------------------------------- the "add" section's parts


def test_the_standin_embedder_loads_no_model_and_keeps_its_word_vectors_apart(tmp_path, embedder):
    from rag.index.artifacts import model_word_vectors

    standin = bench_add.standin_embedder(tmp_path / "standin-cache")
    a, b = standin.encode(["Tokyo lifted the ban.", "Beijing did not."]), standin.encode(["Tokyo lifted the ban."])
    assert a.shape == (2, embedder.dimension) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.array_equal(a[0], b[0]) and not np.allclose(a[0], a[1])  # drawn from the text, nothing else
    late = standin.encode_in_context(["One. Two."], [[(0, 4), (5, 9)]])
    assert np.array_equal(late.sentences, standin.encode(["One.", "Two."])) and np.array_equal(late.passages, standin.encode(["One. Two."]))
    assert standin.model_id == embedder.model_id  # its vectors are cached under the real model, to be reused
    # a build keeps the model's word vectors in the embedder's cache and trusts them from there: the stand-in's
    # go to its own folder, never to where the real model's are kept
    words, vectors = model_word_vectors(standin)
    assert len(words) > 1000 and np.array_equal(vectors[:5], standin.encode(words[:5]))
    assert not np.allclose(vectors[:5], embedder.encode(words[:5]), atol=0.1)
    (kept,) = (tmp_path / "standin-cache").rglob("words-*.npy")
    assert np.array_equal(np.load(kept), vectors) and standin.cache_dir != embedder.cache_dir
    assert standin.active_backend is None  # never loaded: its cache folder holds no exported graph
    assert not list((tmp_path / "standin-cache").rglob("*.onnx"))


def test_the_timed_embedder_counts_texts_and_a_late_chunked_passage_once():
    timed = timed_embedder()
    timed.encode(["The first text.", "The second."])
    assert timed.texts == 2 and timed.seconds > 0
    timed.seconds, timed.texts = 0.0, 0
    timed.encode_in_context(["One sentence. Another one."], [[(0, 13), (14, 26)]])
    assert timed.texts == 1 and timed.seconds > 0


def test_the_scratch_baseline_extrapolates_linearly_only_from_another_size():
    run = BuildRun(passages=2_000, sentences=6_000, seconds=40.0, embed_seconds=30.0, peak_rss_mb=900.0)
    seconds, note = bench_add.scratch_baseline(run, 100_000, "a sample")
    assert seconds == 2_000.0 and "extrapolated from 2,000 passages built in 40.0 s (a sample" in note
    assert bench_add.scratch_baseline(run, 2_000, "that build") == (40.0, "40 s (that build, this run)")


ADD_FIGURES = {
    "passages": 100_000, "load_seconds": 3.0, "remove_seconds": 1.5, "rebuild_seconds": 120.0,
    "rebuild_embedded": 3, "bm25_seconds": 9.0,
    "adds": [
        {"seconds": 4.0, "embed_seconds": 0.5, "texts": 80, "doc_id": "a"},
        {"seconds": 2.0, "embed_seconds": 0.25, "texts": 40, "doc_id": "b"},
        {"seconds": 3.0, "embed_seconds": 0.75, "texts": 60, "doc_id": "c"},
    ],
}


def test_the_add_report_gives_medians_beside_its_baselines(tmp_path):
    targets, tables = bench_add.add_report(ADD_FIGURES, "a base", "separate", (2_000.0, "2000 s (that build, this run)"))
    (target,), (table,) = targets, tables
    assert target.value == "3.00 s (median of 3; 0.50 s of it embedding)"
    assert target.baseline == "full rebuild 120 s with cached embeddings; 2000 s from scratch"
    rows = dict(table.rows)
    assert rows["add one article: median of 3"] == "3.00 s" and rows["remove one article"] == "1.50 s"
    assert rows["  first add of the process (loads nltk's Punkt and the tokenizer)"] == "4.00 s"
    assert "60 texts" in rows["  of which embedding its passages and sentences (median texts embedded)"]
    assert any("9.0 s more, 3.0 times the add" in note for note in table.notes)
    assert any("each embedded on its own" in note for note in table.notes)
    opts = bench.Options(seeds=tmp_path, questions=tmp_path / "q.jsonl", quick=True)
    block = bench_add.render_add(Report((("CPU", "test"),), tuple(targets), tuple(tables)), opts)
    assert block.startswith(bench.ADD_START) and block.rstrip().endswith(bench.ADD_END)
    assert "`python -m rag bench --quick --skip latency,cold,build,ray,scale,eval`" in block
    assert "| add one article to a 100,000-passage index (no numeric target) | 3.00 s" in block
    path = tmp_path / "BENCHMARKS.md"  # its own block: the main one is kept, and it is replaced in place
    path.write_text(f"# Benchmarks\n\n{bench.REPORT_START}\nmain\n{bench.REPORT_END}\n")
    for _ in range(2):
        bench.write_report(path, block, bench.ADD_START, bench.ADD_END)
    text = path.read_text()
    assert text.count(bench.ADD_START) == 1 and "main" in text
