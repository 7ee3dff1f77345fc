"""Index store: FAISS and BM25 against brute-force references, and atomic, checksummed builds."""

import json

import numpy as np
import pytest

from rag.index.lexical import LexicalIndex
from rag.index.builds import BuildStore, IndexError_
from rag.index.vectors import VectorIndex
from rag.index.tokens import lexical_tokens


def normalized(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("n,d,k", [(1, 3, 1), (37, 7, 5), (50, 13, 50), (5, 4, 9)])
def test_vector_search_matches_brute_force(n, d, k):
    rng = np.random.default_rng(n * d)
    vectors, query = normalized(rng, n, d), normalized(rng, 1, d)[0]
    expected = np.argsort(-(vectors @ query), kind="stable")[: min(k, n)]
    got = VectorIndex(vectors).search(query, k)
    assert [s.row for s in got] == list(expected)
    assert np.allclose([s.score for s in got], (vectors @ query)[expected], atol=1e-5)


def test_vector_index_rejects_a_wrong_dimension_and_round_trips(tmp_path):
    index = VectorIndex(np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(np.ones(4, dtype=np.float32), 1)
    index.save(tmp_path / "x.faiss")
    assert VectorIndex.load(tmp_path / "x.faiss").search(np.array([0, 1, 0], np.float32), 1)[0].row == 1
    assert VectorIndex(np.zeros((0, 3), np.float32)).search(np.ones(3, np.float32), 3) == []


def bm25_reference(docs, query, k1=1.2, b=0.75):
    """Lucene BM25 written out: idf = ln(1 + (N - df + .5)/(df + .5)); tf part = tf/(tf + k1(1 - b + b dl/avgdl))."""
    n, avgdl = len(docs), sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        s = 0.0
        for term in query:
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if tf:
                s += np.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(s)
    return np.array(scores)


def test_bm25_matches_the_formula():
    docs = [["japan", "china", "seafood"], ["seafood", "ban", "ban", "water"], ["treaty"], ["china", "treaty", "peace", "1978"]]
    index = LexicalIndex(docs)
    for query in (["seafood"], ["ban", "china"], ["treaty", "1978", "nothing"]):
        assert np.allclose(index.scores(query), bm25_reference(docs, query), atol=1e-4)
    assert index.search(["zzz"], 3) == []
    assert index.idf("seafood") == pytest.approx(np.log(1 + (4 - 2 + 0.5) / 2.5))


def test_lexical_tokens_stem_and_drop_stop_words():
    assert lexical_tokens("Why did China ban Japan's seafood imports?") == ["china", "ban", "japan", "seafood", "import"]


def test_known_form_bridges_stems_the_stemmer_missed():
    index = LexicalIndex([lexical_tokens("the economy was overtaken in 2010")])
    assert index.known_form("overtak") == "overtaken"
    assert index.known_form("zzzzzz") == "zzzzzz"


def publish(store, tmp, payload="data"):
    staging = store.new_build_dir()
    (staging / "part.txt").write_text(payload)
    return store.publish(staging, {"format_version": 1})


def test_publish_swaps_builds_atomically_and_keeps_the_previous(tmp_path):
    store = BuildStore(tmp_path)
    assert store.current() is None
    first = publish(store, tmp_path, "one")
    second = publish(store, tmp_path, "two")
    assert store.current() == second and (second / "part.txt").read_text() == "two"
    assert first.exists()  # the build before stays for readers still using it
    third = publish(store, tmp_path, "three")
    assert store.current() == third and not first.exists()
    assert not list(tmp_path.glob(".tmp-build-*"))


def test_checksums_catch_a_damaged_file(tmp_path):
    store = BuildStore(tmp_path)
    build = publish(store, tmp_path)
    manifest = store.read_manifest(build)
    store.verify(build, manifest)
    (build / "part.txt").write_text("tampered")
    with pytest.raises(IndexError_, match="part.txt"):
        store.verify(build, manifest)
    (build / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_):
        store.read_manifest(build)


def test_a_garbage_pointer_means_no_current_build(tmp_path):
    (tmp_path / "CURRENT").write_text("../../etc")
    assert BuildStore(tmp_path).current() is None


@pytest.mark.parametrize("flat_below", [10_000, 100])  # flat, then IVF
def test_removing_rows_renumbers_the_rest_as_an_index_built_without_them(flat_below):
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(vectors, flat_below=flat_below, nprobe=8)
    keep = np.ones(len(vectors), dtype=bool)
    keep[100:160] = keep[2990:] = False
    shrunk = index.without_rows(keep, vectors[keep])
    refilled = index.refilled(vectors[keep])  # the same trained lists, filled again: the reference
    assert len(shrunk) == keep.sum() and len(index) == len(vectors)  # the original is unchanged
    for query in vectors[::97]:
        assert [(r.row, round(r.score, 5)) for r in shrunk.search(query, 10)] == [
            (r.row, round(r.score, 5)) for r in refilled.search(query, 10)
        ]
    grown = shrunk.extended(vectors[~keep])
    assert len(grown) == len(vectors) and grown.search(vectors[100], 1)[0].row == keep.sum()
