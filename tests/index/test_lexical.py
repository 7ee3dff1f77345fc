"""BM25 with term frequencies: scores equal to bm25s (the reference), and updates equal to a build from scratch."""

import logging
import random

import numpy as np
import pytest

from rag.ingest.articles import load_articles
from rag.index.lexical import LexicalIndex
from rag.index.tokens import lexical_tokens

from conftest import SEEDS


@pytest.fixture(scope="module")
def docs():
    texts = [a.paragraph_text(p) for a in load_articles(SEEDS) for p in a.paragraphs]
    return [lexical_tokens(t) for t in texts] + [[]]  # and one empty row


def random_queries(docs, count, seed=0):
    rng = random.Random(seed)
    vocabulary = sorted({t for d in docs for t in d})
    for _ in range(count):
        query = rng.sample(vocabulary, rng.randint(1, 5))
        yield query + query[:1]  # a repeated term counts twice


def test_scores_equal_bm25s_lucene_exactly(docs):
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([list(d) or [""] for d in docs], show_progress=False)
    ours = LexicalIndex(docs)
    for query in random_queries(docs, 200):
        assert np.array_equal(ours.scores(query), np.asarray(reference.get_scores(query), dtype=np.float32)), query


def test_adding_rows_scores_as_a_build_of_all_rows(docs):
    whole = LexicalIndex(docs)
    grown = LexicalIndex(docs[:40]).extended(docs[40:70]).extended(docs[70:])
    assert len(grown) == len(whole) and grown.document_frequency == whole.document_frequency
    for query in random_queries(docs, 200, seed=1):
        assert np.array_equal(grown.scores(query), whole.scores(query)), query


def test_removing_rows_scores_as_a_build_of_the_rest(docs):
    keep = np.array([i % 3 != 1 for i in range(len(docs))])
    rest = LexicalIndex([d for d, k in zip(docs, keep) if k])
    shrunk = LexicalIndex(docs).without_rows(keep)
    assert shrunk.document_frequency == rest.document_frequency  # terms left in no row are gone
    for query in random_queries(docs, 200, seed=2):
        assert np.array_equal(shrunk.scores(query), rest.scores(query)), query


def test_an_update_leaves_the_original_unchanged(docs):
    original = LexicalIndex(docs[:50])
    before = original.scores(["china", "japan"]).copy()
    original.extended(docs[50:])
    original.without_rows(np.arange(50) % 2 == 0)
    assert len(original) == 50 and np.array_equal(original.scores(["china", "japan"]), before)


def test_save_and_load_give_the_same_scores(docs, tmp_path):
    index = LexicalIndex(docs).extended([["harbour", "terminal"]])
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded.document_frequency == index.document_frequency
    for query in random_queries(docs, 50, seed=3):
        assert np.array_equal(loaded.scores(query), index.scores(query))
    assert loaded.search(["harbour"], 3)[0].row == len(docs)
