"""A build's files: corpus, Punkt parameters, vectors and their keys, the dense index, both BM25s, neighbours."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from rag.index.build_vectors import PassageVectors, resolve_sentence_vectors
from rag.index.builds import FORMAT_VERSION, article_to_dict, passage_to_dict
from rag.index.corpus_index import resolve_vector_store
from rag.index.expansion import neighbours_to_json, rare_word_neighbours, tokenizer_words, word_vectors
from rag.index.lexical import LexicalIndex
from rag.index.recipe import mine_acronyms, passage_lexical_text
from rag.index.tokens import lexical_tokens
from rag.index.vectors import DISK_KINDS, VectorIndex, resolve_dense_kind
from rag.ingest.chunking import CHUNKER_VERSION
from rag.types import Article, Passage

INDEX_RECIPE = "text/2+sentence-bm25/tf+neighbours"  # what is embedded and indexed; a change makes builds stale


def index_recipe(sentence_vectors: str | None = None) -> str:
    """INDEX_RECIPE, marked when sentence vectors are late-chunked (separate ones are what builds always
    made: an index built before the choice existed stays valid)."""
    late = resolve_sentence_vectors(sentence_vectors) == "late"
    return f"{INDEX_RECIPE}+late-chunked" if late else INDEX_RECIPE


def write_artifacts(
    staging: Path,
    articles: list[Article],
    punkt: dict,
    passages: list[Passage],
    vectors: PassageVectors,
    embedder,
    mode: str,
    vector_store: str | None = None,
) -> dict:
    """Every file of a build (corpus, Punkt, vectors and their keys, FAISS or a Milvus collection, both BM25s),
    and its manifest."""
    from rag.ingest.sentences import save_parameters

    by_id = {a.doc_id: a for a in articles}
    sentence_texts = [p.sentence_text(s) for p in passages for s in p.sentences]
    offsets = np.cumsum([0] + [len(p.sentences) for p in passages]).astype(np.int64)
    corpus = {
        "articles": [article_to_dict(a) for a in articles],
        "passages": [passage_to_dict(p) for p in passages],
        "acronyms": mine_acronyms([a.text for a in articles]),
    }
    (staging / "corpus.json").write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    save_parameters(punkt, staging / "punkt.json")
    for name, keys, array in (
        ("passage", vectors.passage_keys, vectors.passages),
        ("sentence", vectors.sentence_keys, vectors.sentences),
    ):
        np.save(staging / f"{name}_vectors.npy", array, allow_pickle=False)
        (staging / f"{name}_keys.json").write_text(json.dumps(list(keys)), encoding="utf-8")
    np.save(staging / "sentence_offsets.npy", offsets, allow_pickle=False)
    on_milvus = resolve_vector_store(vector_store) == "milvus"
    dense = write_dense(staging, passages, on_milvus)
    (staging / "bm25").mkdir()
    lexical = LexicalIndex([lexical_tokens(passage_lexical_text(by_id[p.doc_id], p)) for p in passages])
    lexical.save(staging / "bm25")
    write_neighbours(staging, [p.text for p in passages], lexical.document_frequency, embedder)
    (staging / "bm25_sentences").mkdir()
    LexicalIndex([lexical_tokens(t) for t in sentence_texts]).save(staging / "bm25_sentences")
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_id": embedder.model_id,
        "dimension": int(vectors.passages.shape[1]),
        "chunker_version": CHUNKER_VERSION,
        "index_recipe": index_recipe(mode),
        "sentence_vectors": mode,
        "dense_index": dense.index_kind if on_milvus else dense.kind,
        "served_from": "disk" if dense.kind in DISK_KINDS else "memory",
        "articles": len(articles),
        "passages": len(passages),
        "sentences": len(sentence_texts),
        "embedded_passages": vectors.embedded,
    }
    if on_milvus:  # a FAISS build's manifest stays as it always was
        manifest["vector_store"] = "milvus"
    return manifest


def write_dense(staging: Path, passages: list[Passage], on_milvus: bool):
    """The dense index of the passage vectors just written: a FAISS file, or a new Milvus collection."""
    vectors = np.load(staging / "passage_vectors.npy", mmap_mode="r")
    if on_milvus:
        from rag.index.milvus_store import MilvusVectorIndex

        return MilvusVectorIndex.create(staging, vectors, passages, resolve_dense_kind())
    dense = VectorIndex(vectors, kind=resolve_dense_kind())
    dense.save(staging / "dense.faiss")
    return dense


def model_word_vectors(embedder) -> tuple[list[str], np.ndarray]:
    """The model's whole words and their vectors, embedded once per model (cached beside its ONNX graph)."""
    words = tokenizer_words(Path(embedder.model))
    cache = Path(embedder.cache_dir) / "words" / re.sub(r"[^\w.@-]", "_", embedder.model_id)
    return words, word_vectors(words, embedder.encode, cache)


def write_neighbours(staging: Path, texts: list[str], document_frequency: dict[str, int], embedder) -> None:
    """Expansion terms for question words the corpus barely uses (rag/index/expansion.py)."""
    words, vectors = model_word_vectors(embedder)
    neighbours = rare_word_neighbours(texts, document_frequency, words, vectors)
    (staging / "neighbours.json").write_text(neighbours_to_json(neighbours), encoding="utf-8")
