"""The serving part of the benchmark: BM25 tiled to a size scores as an index of the repeated corpus would, the
rows a milvus-lite build reads, the power-law fits the plan extrapolates with, and the sizes option."""

import argparse

import numpy as np
import pytest

from rag.bench.common import ScaleRun
from rag.bench.serving import FileRows, LexicalRun, StandInPassages, marginal_bytes, power_fit, serving_plan, tiled
from rag.cli import sizes_list
from rag.index.lexical import LexicalIndex

DOCS = [["port", "ship", "ship"], ["wetland", "bird"], ["port", "bird", "tide", "tide", "tide"], []]


def test_a_tiled_index_is_the_index_of_the_repeated_corpus():
    copies = 3
    got, want = tiled(LexicalIndex(DOCS), copies), LexicalIndex(DOCS * copies)
    assert len(got) == len(want) == 12 and got.document_frequency == want.document_frequency
    for query in (["port"], ["bird", "tide"], ["ship", "wetland", "nothing"]):
        assert np.allclose(got.scores(query), want.scores(query))
        assert got.search(query, 5) == want.search(query, 5)


def test_file_rows_and_stand_in_passages_slice_like_the_arrays_they_replace(tmp_path):
    vectors = np.random.default_rng(2).standard_normal((50, 8)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    rows = FileRows(str(tmp_path / "v.npy"), 30)
    assert len(rows) == 30 and rows.shape == (30, 8)
    assert np.array_equal(rows[10:20], vectors[10:20]) and np.array_equal(rows[25:40], vectors[25:30])
    passages = StandInPassages(120)[49:52]
    assert [(p.passage_id, p.doc_id, p.paragraph) for p in passages] == [(49, "article-0", 49), (50, "article-1", 0), (51, "article-1", 1)]


def run(vectors, rss_mb, cpu_ms):
    return ScaleRun("milvus-lite ivf", vectors, 1.0, 1.0, rss_mb, rss_mb, cpu_ms, 0.99, cpu_ms)


def test_the_plan_fits_growth_through_the_two_largest_sizes():
    assert power_fit([1_000, 100_000, 1_000_000], [9.0, 1.0, 10.0]) == pytest.approx(1.0)
    assert power_fit([100_000, 1_000_000], [2.0, 2.0 * 10**0.5]) == pytest.approx(0.5)
    assert power_fit([1_000_000], [3.0]) == 1.0  # one size: assumed linear
    per, fixed = marginal_bytes([run(100_000, 400.0, 1.0), run(1_000_000, 1_300.0, 2.0)])
    assert per == pytest.approx(900 * 2**20 / 900_000) and fixed == pytest.approx(300 * 2**20)
    disk = ScaleRun("ivfpq", 2_000_000, 1.0, 2_000_000 * (1536 + 61) / 2**20, 180.0, 200.0, 3.0, 0.97, 3.0)
    lexical = [LexicalRun(100_000, 300_000, 100.0, 50.0, 10.0, 10.0), LexicalRun(1_000_000, 3_000_000, 1000.0, 400.0, 100.0, 100.0)]
    plan = serving_plan(disk, [run(100_000, 400.0, 1.0), run(1_000_000, 1_300.0, 2.0)], lexical)
    assert "EXTRAPOLATED" in plan and plan.count("| 20M |") == 2 and plan.count("| 200M |") == 2
    assert "BM25 CPU per query ~ n^1.00" in plan and "2000 ms CPU" in plan.replace(",", "")  # 100 ms x 20
    assert "(The plan needs" in serving_plan(None, [], [])
    linear = serving_plan(disk, [run(100_000, 400.0, 40.0), run(1_000_000, 1_300.0, 400.0)], lexical)
    assert "not a Milvus server" in linear and "not a Milvus server" not in plan


def test_serving_sizes_are_a_comma_separated_list_of_counts():
    assert sizes_list("100000, 1000000") == (100_000, 1_000_000)
    with pytest.raises(argparse.ArgumentTypeError):
        sizes_list("100000,ten")
    with pytest.raises(argparse.ArgumentTypeError):
        sizes_list("10")
