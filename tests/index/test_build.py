"""Index life cycle: manifest, staleness, incremental re-embedding, damaged builds, interrupted builds."""

import json

import numpy as np
import pytest

from rag import Assistant
from rag.index.embedder import Embedder

from conftest import PARAGRAPHS, SEEDS, write_article


class CountingEmbedder(Embedder):
    """The real embedder, counting how many texts it is asked to encode."""

    def __init__(self, shared: Embedder):
        super().__init__(shared.model)
        self._model = shared._model
        self.encoded = 0

    def encode(self, texts, show_progress=False):
        self.encoded += len(texts)
        return super().encode(texts, show_progress)

    def encode_in_context(self, texts, spans, show_progress=False):
        self.encoded += len(texts)  # one forward pass per passage, its sentences included
        return super().encode_in_context(texts, spans, show_progress)


@pytest.fixture
def counting(embedder):
    """Counts only article text: the model's word vectors (query expansion) are embedded once per model and
    cached, so they are warmed first."""
    from rag.index.artifacts import model_word_vectors

    model_word_vectors(embedder)
    return CountingEmbedder(embedder)


def test_manifest_records_what_the_index_was_built_from(small_corpus, tmp_path, counting):
    assistant = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting)
    manifest = assistant.index.manifest
    assert manifest["model_id"] == Embedder().model_id and "@" in manifest["model_id"]
    assert manifest["dimension"] == 384
    assert manifest["articles"] == 2 and manifest["passages"] == len(assistant.index.passages)
    for key in ("corpus_hash", "chunker_version", "built_at", "files"):
        assert manifest[key]
    assert (tmp_path / "idx" / "CURRENT").read_text().startswith("build-")


def test_an_unchanged_corpus_loads_without_embedding(small_corpus, tmp_path, counting):
    Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting).index
    counting.encoded = 0
    again = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting)
    assert again.index.manifest["articles"] == 2
    assert counting.encoded == 0


@pytest.mark.parametrize("mode", ["late", "separate"])
def test_adding_an_article_re_embeds_only_its_text(small_corpus, tmp_path, counting, monkeypatch, mode):
    monkeypatch.setenv("RAG_SENTENCE_VECTORS", mode)
    first = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting).index
    counting.encoded = 0
    write_article(small_corpus, "second.txt", "A second port story", [p.replace("Northport", "Southport").replace(".", ", said Southport.") for p in PARAGRAPHS])
    assistant = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting)
    index = assistant.index  # stale: rebuilt on first use
    new_passages = [p for p in index.passages if p.doc_id == "second"]
    new_sentences = sum(len(p.sentences) for p in new_passages)
    assert index.manifest["corpus_hash"] != first.manifest["corpus_hash"]
    assert new_passages and new_sentences >= len(new_passages)
    # late chunking: one forward pass per passage, none per sentence; separate: every sentence again
    assert counting.encoded == len(new_passages) + (new_sentences if mode == "separate" else 0)
    assert assistant.search("Southport terminal jobs", top_k=1)[0].doc_id == "second"


def test_the_way_sentence_vectors_are_made_is_recorded_and_a_change_rebuilds(small_corpus, tmp_path, counting, monkeypatch):
    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "separate")
    index = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting).index
    assert index.manifest["sentence_vectors"] == "separate"
    assert counting.encoded == len(index.passages) + len(index.sentence_vectors)
    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "late")
    counting.encoded = 0
    late = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=counting).index
    assert late.manifest["sentence_vectors"] == "late" and late.manifest["corpus_hash"] != index.manifest["corpus_hash"]
    assert counting.encoded == len(late.passages)  # sentence vectors of another kind are not reused
    assert late.passages == index.passages and np.allclose(late.passage_vectors, index.passage_vectors, atol=1e-5)
    assert not np.allclose(late.sentence_vectors, index.sentence_vectors, atol=1e-3)


def test_a_damaged_index_file_is_detected_and_rebuilt(small_corpus, tmp_path, counting, caplog):
    index_dir = tmp_path / "idx"
    Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting).index
    build = index_dir / (index_dir / "CURRENT").read_text()
    data = (build / "dense.faiss").read_bytes()
    (build / "dense.faiss").write_bytes(data[: len(data) // 2])  # truncated
    assistant = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    assert assistant.search("terminal wetlands birds", top_k=1)[0].doc_id == "port"
    assert any("unusable" in r.message for r in caplog.records)
    assert (index_dir / "CURRENT").read_text() != build.name


def test_an_index_of_another_model_is_rebuilt(small_corpus, tmp_path, counting):
    index_dir = tmp_path / "idx"
    Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting).index
    build = index_dir / (index_dir / "CURRENT").read_text()
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["corpus_hash"] = "built-with-another-model"
    (build / "manifest.json").write_text(json.dumps(manifest))
    counting.encoded = 0
    assistant = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    assert assistant.index.manifest["corpus_hash"] != "built-with-another-model"


def test_a_failed_build_leaves_the_previous_index_serving(small_corpus, tmp_path, counting):
    index_dir = tmp_path / "idx"
    assistant = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    assistant.warm_up()
    before = (index_dir / "CURRENT").read_text()
    write_article(small_corpus, "third.txt", "Third", ["A new paragraph about ferries crossing the strait at night time."])

    class Broken(CountingEmbedder):
        def encode(self, texts, show_progress=False):
            raise RuntimeError("killed mid-build")

        def encode_in_context(self, texts, spans, show_progress=False):
            raise RuntimeError("killed mid-build")

    broken = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=Broken(counting))
    with pytest.raises(RuntimeError):
        broken.rebuild()
    assert (index_dir / "CURRENT").read_text() == before
    assert not list(index_dir.glob(".tmp-build-*"))
    assert assistant.index.manifest["articles"] >= 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: (b / "corpus.json").write_text("{"),
        lambda b: (b / "passage_vectors.npy").write_bytes(b"\x93NUMPY garbage"),
        lambda b: (b / "bm25" / "lexical.json").unlink(),
        lambda b: (b / "manifest.json").write_text("[]"),
        lambda b: (b / "sentence_offsets.npy").unlink(),
        lambda b: (b.parent / "CURRENT").write_text("build-that-does-not-exist"),
    ],
    ids=["corpus-json", "vectors", "bm25-file-gone", "manifest", "offsets-gone", "dangling-pointer"],
)
def test_any_damaged_part_is_detected_and_rebuilt(small_corpus, tmp_path, counting, damage):
    index_dir = tmp_path / "idx"
    Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting).warm_up()
    damage(index_dir / (index_dir / "CURRENT").read_text())
    assistant = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    hits = assistant.search("wetlands birds", top_k=1)
    assert hits and hits[0].doc_id == "port"


@pytest.mark.slow
def test_a_build_killed_mid_way_leaves_the_previous_index_serving(small_corpus, tmp_path, counting):
    """A real `python -m rag index` process, SIGKILLed while it embeds: the old build stays current and whole."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    index_dir = tmp_path / "idx"
    Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting).warm_up()
    before = (index_dir / "CURRENT").read_text()
    many = [f"Paragraph {i} describes ferry route {i} across the strait, with its own timetable and fares." for i in range(400)]
    write_article(small_corpus, "ferries.txt", "Ferries", many)
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "--seeds", str(small_corpus), "--index", str(index_dir), "index", "--quiet"],
        cwd=REPO, env=dict(os.environ, HF_HUB_OFFLINE="1"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while not list(index_dir.glob(".tmp-build-*")) and time.time() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the build finished before it could be killed"
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert (index_dir / "CURRENT").read_text() == before
    from rag.index.corpus_index import load_index

    survivor = load_index(index_dir / before)  # checksums verified: whole, not half-written
    assert survivor.manifest["articles"] == 2


def test_acronym_definitions_are_the_matches_of_the_rule_found_faster():
    import random
    import re

    from rag.index.recipe import ACRONYM_DEFINITION, acronym_definitions

    def by_the_rule(text):
        return [(re.split(r"[ ,]+", m.group(1).strip()), m.group(2)) for m in ACRONYM_DEFINITION.finditer(text)]

    rng = random.Random(0)
    pieces = ["Belt", "and", "Road", "Initiative", " ", ",", "(BRI)", " (BRI)", "(", ")", "x-y", "’s", "\n", ".",
              "  (LDP)", "Liberal", "Democratic", "Party", "(Ab)", "of", "the", "  ", "one two three four five six"]
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 40))) for _ in range(2000)]
    for text in texts:
        assert list(acronym_definitions(text)) == by_the_rule(text), text


def current_build(index_dir):
    return (index_dir / "CURRENT").read_text()


def test_editing_an_article_is_seen_by_the_next_question_and_rebuilds(small_corpus, tmp_path, counting):
    """The edit keeps the file's name, size and modification time: only its contents say it changed."""
    import os

    index_dir = tmp_path / "idx"
    first = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    before = first.ask("Who is the mayor of Northport?")
    assert "Alice Brennan" in before.text
    build_before, manifest_before = current_build(index_dir), first.index.manifest
    path = small_corpus / "port.txt"
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("Alice Brennan", "Grace Okonkwo"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns

    counting.encoded = 0
    after = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)  # the next process
    answer = after.ask("Who is the mayor of Northport?")
    assert "Grace Okonkwo" in answer.text and "Alice Brennan" not in answer.text, answer.text
    # The rebuild happened: a new build is current, with a new fingerprint, and holds the new text.
    assert current_build(index_dir) != build_before
    assert after.index.manifest["corpus_hash"] != manifest_before["corpus_hash"]
    assert any("Grace Okonkwo" in p.text for p in after.index.passages)
    assert not any("Alice Brennan" in p.text for p in after.index.passages)
    assert 0 < counting.encoded < len(after.index.passages) * 3  # only the changed paragraph re-embedded


def test_rebuild_publishes_a_new_build_with_the_current_text(small_corpus, tmp_path, counting):
    index_dir = tmp_path / "idx"
    assistant = Assistant(seeds_dir=small_corpus, index_dir=index_dir, embedder=counting)
    assistant.warm_up()
    build_before = current_build(index_dir)
    write_article(small_corpus, "port.txt", "Northport approves terminal",
                  [p.replace("wetlands", "salt marshes") for p in PARAGRAPHS], byline="By Jane Roe")
    assert assistant.search("salt marshes", top_k=1, mode="bm25") == []  # the loaded index is the old one
    index = assistant.rebuild()
    assert current_build(index_dir) != build_before
    assert assistant.index is index and index.manifest["built_at"]
    assert assistant.search("salt marshes", top_k=1, mode="bm25")[0].doc_id == "port"


def test_fingerprint_follows_contents_names_metadata_cleaning_and_model(tmp_path, monkeypatch):
    import rag.index.build
    from rag.index.build import corpus_fingerprint

    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "one.txt").write_text("Alpha text.", encoding="utf-8")
    base = corpus_fingerprint(folder, "model@1")
    assert corpus_fingerprint(folder, "model@1") == base
    assert corpus_fingerprint(folder, "model@2") != base
    monkeypatch.setattr(rag.index.build, "CLEANING_VERSION", "next")  # new cleaning rules: rebuild
    assert corpus_fingerprint(folder, "model@1") != base
    monkeypatch.undo()
    (folder / "one.txt").write_text("Alpha test.", encoding="utf-8")  # same size, other contents
    edited = corpus_fingerprint(folder, "model@1")
    assert edited != base
    (folder / "notes.csv").write_text("ignored", encoding="utf-8")
    (folder / "sub").mkdir()
    assert corpus_fingerprint(folder, "model@1") == edited  # not an article: no rebuild
    (folder / "sources.toml").write_text('["one.txt"]\ntitle = "T"\n', encoding="utf-8")
    with_metadata = corpus_fingerprint(folder, "model@1")
    assert with_metadata != edited
    (folder / "one.txt").rename(folder / "two.txt")
    assert corpus_fingerprint(folder, "model@1") != with_metadata  # renamed: ids and links change
    assert corpus_fingerprint(tmp_path / "missing", "model@1") != base


def test_an_article_file_that_cannot_be_read_still_gives_a_fingerprint(tmp_path, monkeypatch):
    from pathlib import Path

    from rag.index.build import corpus_fingerprint

    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "one.txt").write_text("Alpha text.", encoding="utf-8")
    readable = corpus_fingerprint(folder, "model@1")
    read_bytes = Path.read_bytes

    def denied(path):
        if path.name == "one.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", denied)
    unreadable = corpus_fingerprint(folder, "model@1")
    assert unreadable != readable and corpus_fingerprint(folder, "model@1") == unreadable  # rebuilt once readable


def test_no_uploads_keep_the_fingerprint_and_an_upload_changes_it_and_joins_the_corpus(tmp_path):
    from rag.index.build import corpus_fingerprint, load_corpus
    from rag.ingest.uploads import UploadStore

    folder = tmp_path / "a"
    folder.mkdir()
    write_article(folder, "one.txt", "Alpha", ["The harbour authority approved a new container terminal on Monday."])
    uploads = UploadStore(tmp_path / "uploads")
    plain = corpus_fingerprint(folder, "model@1")
    assert corpus_fingerprint(folder, "model@1", uploads) == plain  # builds made before uploads stay current
    assert [a.source_name for a in load_corpus(folder, uploads)] == ["one.txt"]
    uploads.save(b"Beta\n\nThe football club opened its new stadium on Saturday with forty thousand fans.\n",
                 "beta.txt", "text")
    assert corpus_fingerprint(folder, "model@1", uploads) != plain
    articles = load_corpus(folder, uploads)
    assert [a.source_name for a in articles] == ["one.txt", "beta.txt"] and articles[1].origin == "upload"
    (folder / "one.txt").unlink()
    assert [a.source_name for a in load_corpus(folder, uploads)] == ["beta.txt"]  # uploads alone are a corpus


# ---------------------------------------------------------------- a tiny corpus, fast enough for mutation runs

TINY = {
    "port": ("Northport approves terminal", [
        "The Northport Harbour Authority (NHA) approved a new container terminal on Monday after a long debate.",
        "Critics said the terminal would damage the wetlands south of the city, home to rare birds.",
    ]),
    "club": ("Club opens stadium", ["The football club opened its new stadium on Saturday with forty thousand fans."]),
}


@pytest.fixture
def tiny_corpus(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name, (title, paragraphs) in TINY.items():
        write_article(folder, f"{name}.txt", title, paragraphs)
    return folder


def test_a_build_records_its_recipe_and_counts_and_reuses_vectors_of_unchanged_text(tiny_corpus, tmp_path, embedder):
    from rag.ingest.chunking import CHUNKER_VERSION
    from rag.index.artifacts import INDEX_RECIPE
    from rag.index.build import corpus_fingerprint

    index = Assistant(seeds_dir=tiny_corpus, index_dir=tmp_path / "idx", embedder=embedder).index
    manifest = index.manifest
    mode = manifest["sentence_vectors"]
    assert mode in ("late", "separate")
    assert manifest["index_recipe"] == (f"{INDEX_RECIPE}+late-chunked" if mode == "late" else INDEX_RECIPE)
    assert manifest["model_id"] == embedder.model_id and manifest["chunker_version"] == CHUNKER_VERSION
    assert manifest["corpus_hash"] == corpus_fingerprint(tiny_corpus, embedder.model_id, sentence_vectors=mode)
    assert manifest["dense_index"] == index.dense.kind == "flat" and manifest["served_from"] == "memory"
    assert not isinstance(index.passage_vectors, np.memmap)
    assert (manifest["articles"], manifest["passages"], manifest["sentences"]) == (2, 3, 3)
    assert manifest["embedded_passages"] == 3  # a first build embeds everything
    assert index.acronyms == {"NHA": "Northport Harbour Authority"}  # mined at build, kept in corpus.json
    build = tmp_path / "idx" / current_build(tmp_path / "idx")
    assert json.loads((build / "neighbours.json").read_text(encoding="utf-8")) == index.neighbours

    write_article(tiny_corpus, "farm.txt", "Harvest report", ["Farmers reported a record apple harvest this autumn."])
    again = Assistant(seeds_dir=tiny_corpus, index_dir=tmp_path / "idx", embedder=embedder).index
    assert again.manifest["passages"] == 4 and again.manifest["embedded_passages"] == 1  # only the new article
