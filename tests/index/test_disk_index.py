"""The index served from disk: IVF-PQ with memory-mapped lists, re-ranked exactly from memory-mapped vectors,
against brute force; chosen by size, recorded in the manifest, loaded memory-mapped."""

from pathlib import Path

import numpy as np
import pytest

from rag import Assistant
from rag.index.disk_index import RowFile, pq_subquantizers, rerank_search, shortlist_size
from rag.index.vectors import VectorIndex, choose_kind, import_faiss

from conftest import brute_force, clustered


def test_auto_serves_from_disk_from_the_threshold():
    assert choose_kind(999, flat_below=100, disk_from=1000) == "ivf"
    assert choose_kind(1000, flat_below=100, disk_from=1000) == "ivfpq"
    assert choose_kind(5, kind="ivfpq") == "ivfpq"
    assert pq_subquantizers(384) == 48 and pq_subquantizers(36) == 4
    assert shortlist_size(10, 10**6) == 200 and shortlist_size(100, 10**6) == 400 and shortlist_size(10, 50) == 50


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


def test_rows_read_with_pread_are_the_rows_of_the_file(tmp_path):
    rng = np.random.default_rng(3)
    points = clustered(rng, 500, d=24)
    np.save(tmp_path / "v.npy", points)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    reader = RowFile.of(mapped)
    for rows in ([], [0], [499], [3, 4, 5, 9, 10, 200, 498, 499], list(range(0, 500, 7))):
        assert np.array_equal(reader.rows(np.array(rows, dtype=np.int64)), points[rows])  # runs and single rows
    with pytest.raises(ValueError):
        reader.rows(np.array([5, 3]))
    with pytest.raises(ValueError):
        reader.rows(np.array([500]))
    assert RowFile.of(points) is None and RowFile.of(mapped[10:]) is None and RowFile.of(mapped[:, :8]) is None


def test_the_pread_rerank_returns_what_an_exact_rerank_of_the_same_candidates_does(tmp_path):
    rng = np.random.default_rng(19)
    points = clustered(rng, 4030, d=32, clusters=50)
    np.save(tmp_path / "v.npy", points[:4000])
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    index = VectorIndex(mapped, kind="ivfpq")
    assert index._reader is not None  # a whole .npy file opened as a memory map is read with pread
    for query in points[4000:]:
        _, candidates = index._index.search(query.reshape(1, -1), shortlist_size(10, 4000))
        candidates = np.unique(candidates[candidates >= 0])
        exact = points[candidates] @ query  # the same short list scored in memory
        expected = candidates[np.lexsort((candidates, -exact))][:10]
        rows, scores = rerank_search(index._index, mapped, query.reshape(1, -1), 10, index._reader)
        assert rows.tolist() == expected.tolist()
        assert np.array_equal(scores, exact[np.searchsorted(candidates, expected)])
        assert [h.row for h in index.search(query, 10)] == expected.tolist()


def resident_kb_of(path) -> int:
    """Resident kB of this process's mappings of `path` (/proc/self/smaps), all of them together."""
    total, inside = 0, False
    for line in open("/proc/self/smaps", encoding="utf-8"):
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):  # a mapping's header line
            inside = fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/self/smaps")
def test_searching_from_disk_maps_no_page_of_the_vectors_file(tmp_path):
    points = clustered(np.random.default_rng(23), 8030, d=64, clusters=80)
    np.save(tmp_path / "v.npy", points[:8000])
    VectorIndex(np.load(tmp_path / "v.npy", mmap_mode="r"), kind="ivfpq").save(tmp_path / "x.faiss")
    vectors = np.load(tmp_path / "v.npy", mmap_mode="r")  # a fresh mapping: none of its pages touched yet
    loaded = VectorIndex.load(tmp_path / "x.faiss", vectors=vectors)
    for query in points[8000:]:
        loaded.search(query, 10)
    assert resident_kb_of(tmp_path / "v.npy") == 0  # the rows were read with pread, not through the map
    np.asarray(vectors[::50]).sum()  # what indexing the map does instead
    assert resident_kb_of(tmp_path / "v.npy") > 0


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
