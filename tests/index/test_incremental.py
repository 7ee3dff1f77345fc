"""Incremental updates against the reference, a full build: adding an article, then removing it again."""

import numpy as np
import pytest

from rag.index.incremental import add_articles, remove_articles
from rag.index.build import build_index
from rag.index.corpus_index import load_index
from rag.ingest.articles import clean_article
from rag.ingest.sentences import load_parameters
from rag.index.builds import BuildStore

from conftest import PARAGRAPHS, write_article

EXTRA = clean_article(
    "Eastport opens a ferry line\n\n"
    "The Eastport Ferry Company (EFC) opened a new line to the islands on 2 May 2022 after two years of work.\n\n"
    "The EFC said the crossing takes forty minutes and that the first boat carried 230 passengers.\n\n"
    "Residents of the islands had asked for a direct line since the old pier closed in 2015.\n",
    "ship.txt",
    doc_id="ship",
)
QUERIES = ["ferry islands", "terminal wetlands birds", "EFC passengers", "mayor jobs", "pier closed 2015"]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "port.txt", "Northport approves terminal", PARAGRAPHS, byline="By Jane Roe")
    return folder


def built(folder, tmp_path, name, embedder):
    store = BuildStore(tmp_path / name)
    build = build_index(folder, store, embedder)
    return load_index(build), load_parameters(build / "punkt.json")


def same_search_results(a, b):
    from rag.index.tokens import lexical_tokens

    for query in QUERIES:
        tokens = lexical_tokens(query)
        assert np.array_equal(a.lexical.scores(tokens), b.lexical.scores(tokens)), query
        assert np.array_equal(a.sentence_lexical.scores(tokens), b.sentence_lexical.scores(tokens)), query
        vector = a.passage_vectors[0]
        assert [r.row for r in a.dense.search(vector, 5)] == [r.row for r in b.dense.search(vector, 5)]


def test_adding_an_article_gives_the_index_a_full_build_gives(corpus, tmp_path, embedder):
    base, punkt = built(corpus, tmp_path, "base", embedder)
    grown = add_articles(base, [EXTRA], punkt, embedder)
    (corpus / "ship.txt").write_text(EXTRA.title + "\n\n" + EXTRA.text, encoding="utf-8")
    full, _ = built(corpus, tmp_path, "full", embedder)
    assert [(p.doc_id, p.paragraph, p.text, p.sentences) for p in grown.passages] == [
        (p.doc_id, p.paragraph, p.text, p.sentences) for p in full.passages
    ]
    assert np.allclose(grown.passage_vectors, full.passage_vectors, atol=1e-5)
    assert np.allclose(grown.sentence_vectors, full.sentence_vectors, atol=1e-5)
    assert np.array_equal(grown.sentence_offsets, full.sentence_offsets)
    assert grown.acronyms == full.acronyms == {"EFC": "Eastport Ferry Company"}
    assert grown.metadata_terms["ship"] == full.metadata_terms["ship"]
    same_search_results(grown, full)
    assert len(base.passages) < len(grown.passages) and "ship" not in base.articles  # the original is untouched


def test_removing_it_again_gives_the_index_before(corpus, tmp_path, embedder):
    base, punkt = built(corpus, tmp_path, "base", embedder)
    restored = remove_articles(add_articles(base, [EXTRA], punkt, embedder), ["ship"])
    assert restored.passages == base.passages and restored.acronyms == base.acronyms == {}
    assert np.array_equal(restored.passage_vectors, base.passage_vectors)
    assert np.array_equal(restored.sentence_offsets, base.sentence_offsets)
    assert restored.metadata_vocabulary == base.metadata_vocabulary
    same_search_results(restored, base)


def test_adding_an_indexed_id_is_refused(corpus, tmp_path, embedder):
    base, punkt = built(corpus, tmp_path, "base", embedder)
    with pytest.raises(ValueError, match="already indexed"):
        add_articles(base, [base.articles["port"]], punkt, embedder)


def test_removing_the_article_that_defined_an_acronym_falls_back_to_the_next_definition(corpus, tmp_path, embedder):
    base, punkt = built(corpus, tmp_path, "base", embedder)
    other = clean_article(
        "Ferries elsewhere\n\nThe Eastport Fishing Cooperative (EFC) also runs boats to the islands every week.\n",
        "yacht.txt",
        doc_id="yacht",
    )
    both = add_articles(base, [EXTRA, other], punkt, embedder)
    assert both.acronyms == {"EFC": "Eastport Ferry Company"}  # the first definition wins, as in a full build
    assert remove_articles(both, ["yacht"]).acronyms == {"EFC": "Eastport Ferry Company"}
    assert remove_articles(both, ["ship"]).acronyms == {"EFC": "Eastport Fishing Cooperative"}
