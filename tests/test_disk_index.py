"""The index served from disk: IVF-PQ with memory-mapped lists, re-ranked exactly from memory-mapped vectors,
against brute force; chosen by size, recorded in the manifest, loaded memory-mapped."""

import numpy as np
import pytest

from rag import Assistant
from rag.disk_index import pq_subquantizers, shortlist_size
from rag.store import VectorIndex, choose_kind, import_faiss

from conftest import brute_force, clustered


def test_auto_serves_from_disk_from_the_threshold():
    assert choose_kind(999, flat_below=100, disk_from=1000) == "ivf"
    assert choose_kind(1000, flat_below=100, disk_from=1000) == "ivfpq"
    assert choose_kind(5, kind="ivfpq") == "ivfpq"
    assert pq_subquantizers(384) == 48 and pq_subquantizers(36) == 4
    assert shortlist_size(10, 10**6) == 100 and shortlist_size(100, 10**6) == 400 and shortlist_size(10, 50) == 50


def test_ivfpq_from_a_memory_map_reranks_exactly_and_finds_the_true_neighbours(tmp_path):
    rng = np.random.default_rng(11)
    points = clustered(rng, 6040, d=32, clusters=60)
    np.save(tmp_path / "v.npy", points[:6000])
    vectors, queries = np.load(tmp_path / "v.npy", mmap_mode="r"), points[6000:]
    index = VectorIndex(vectors, flat_below=100, disk_from=1000)
    assert index.kind == "ivfpq"
    index.save(tmp_path / "x.faiss")
    loaded = VectorIndex.load(tmp_path / "x.faiss", vectors=vectors)
    faiss = import_faiss()
    assert loaded.kind == "ivfpq"
    assert isinstance(faiss.downcast_InvertedLists(faiss.extract_index_ivf(loaded._index).invlists), faiss.OnDiskInvertedLists)
    recall = []
    for query in queries:
        hits = loaded.search(query, 10)
        exact = vectors[[h.row for h in hits]] @ query
        assert np.allclose([h.score for h in hits], exact, atol=1e-5)  # scores are exact, not PQ estimates
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        recall.append(len({h.row for h in hits} & set(brute_force(points[:6000], query, 10))) / 10)
    assert np.mean(recall) >= 0.9
    with pytest.raises(ValueError):
        VectorIndex.load(tmp_path / "x.faiss")  # no vectors to re-rank from


def test_a_build_served_from_disk_is_recorded_and_loaded_memory_mapped(small_corpus, tmp_path, embedder, monkeypatch):
    monkeypatch.setenv("RAG_DENSE_INDEX", "ivfpq")
    assistant = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=embedder)
    index = assistant.index
    assert index.manifest["dense_index"] == "ivfpq" and index.manifest["served_from"] == "disk"
    assert isinstance(index.passage_vectors, np.memmap) and isinstance(index.sentence_vectors, np.memmap)
    assert assistant.search("wetlands birds", top_k=1)[0].doc_id == "port"
    monkeypatch.setenv("RAG_DENSE_INDEX", "flat")
    memory = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx2", embedder=embedder).index
    assert memory.manifest["served_from"] == "memory" and not isinstance(memory.passage_vectors, np.memmap)
