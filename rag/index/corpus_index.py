"""The loaded index: everything a query needs from one published build, immutable."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.index.builds import BuildStore, IndexError_, article_from_dict, passage_from_dict
from rag.index.lexical import LexicalIndex
from rag.index.recipe import metadata_text
from rag.index.tokens import lexical_tokens
from rag.index.vectors import VectorIndex
from rag.types import Article, Passage

VECTOR_STORES = ("faiss", "milvus")  # where the passage vectors are searched: FAISS files, or a Milvus collection
VECTOR_STORE_ENV = "RAG_STORE"


def resolve_vector_store(store: str | None = None) -> str:
    """The argument, else $RAG_STORE, else "faiss"; anything else is a ValueError."""
    chosen = (store or os.environ.get(VECTOR_STORE_ENV) or "faiss").strip().lower()
    if chosen not in VECTOR_STORES:
        raise ValueError(f"vector store must be one of {VECTOR_STORES}, not {chosen!r}")
    return chosen


@dataclass(frozen=True)
class CorpusIndex:
    """Everything a query needs, loaded from one build: immutable, so a rebuild swaps it whole."""

    articles: dict[str, Article]
    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray  # one row per sentence, passages' sentences in order
    sentence_offsets: np.ndarray  # passage i's sentences are rows sentence_offsets[i]:sentence_offsets[i+1]
    dense: VectorIndex
    lexical: LexicalIndex
    sentence_lexical: LexicalIndex  # BM25 over single sentences, rows as in sentence_vectors
    acronyms: dict[str, str]
    manifest: dict
    metadata_terms: dict[str, frozenset[str]]  # per article: lexical terms of its title, authors, publisher
    metadata_vocabulary: frozenset[str]  # all of those together
    neighbours: dict[str, list[str]] = field(default_factory=dict)  # stem -> corpus stems that embed close to it

    def passage_sentence_rows(self, passage_row: int) -> range:
        return range(int(self.sentence_offsets[passage_row]), int(self.sentence_offsets[passage_row + 1]))

    def passage_of_sentence(self, sentence_row: int) -> int:
        return int(np.searchsorted(self.sentence_offsets, sentence_row, side="right")) - 1

    def best_sentence_similarity(self, rows: list[int], query_vector: np.ndarray) -> np.ndarray:
        """For each passage row, the cosine of its closest sentence to the query."""
        out = np.zeros(len(rows), dtype=np.float32)
        for i, row in enumerate(rows):
            sentence_rows = self.passage_sentence_rows(row)
            if len(sentence_rows):
                out[i] = float(np.max(self.sentence_vectors[sentence_rows.start : sentence_rows.stop] @ query_vector))
        return out


def load_index(build: Path, vector_store: str | None = None) -> CorpusIndex:
    """Load and check a published build; any inconsistency, or a build for another `vector_store` than the one
    given, raises IndexError_ (the caller rebuilds)."""
    manifest = BuildStore.read_manifest(build)
    built_for = manifest.get("vector_store", "faiss")
    if vector_store is not None and built_for != vector_store:  # checked first: never a connection to the other
        raise IndexError_(f"built for {built_for}, {vector_store} asked")
    BuildStore.verify(build, manifest)
    try:
        corpus = json.loads((build / "corpus.json").read_text(encoding="utf-8"))
        articles = {a["doc_id"]: article_from_dict(a) for a in corpus["articles"]}
        passages = tuple(passage_from_dict(p) for p in corpus["passages"])
        # served from disk: vectors and BM25 memory-mapped, so the OS pages in what queries touch
        mmap = "r" if manifest.get("served_from") == "disk" else None
        passage_vectors = np.load(build / "passage_vectors.npy", mmap_mode=mmap, allow_pickle=False)
        sentence_vectors = np.load(build / "sentence_vectors.npy", mmap_mode=mmap, allow_pickle=False)
        offsets = np.load(build / "sentence_offsets.npy", allow_pickle=False)
        on_milvus = manifest.get("vector_store") == "milvus"
        dense = None if on_milvus else VectorIndex.load(build / "dense.faiss", vectors=passage_vectors)
        lexical = LexicalIndex.load(build / "bm25", mmap=bool(mmap))
        sentence_lexical = LexicalIndex.load(build / "bm25_sentences", mmap=bool(mmap))
        neighbours = json.loads((build / "neighbours.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise IndexError_(f"index unreadable: {err}") from err
    if on_milvus:  # outside the try: a Milvus that cannot be reached is an error to report, not a reason to rebuild
        from rag.index.milvus_store import MilvusVectorIndex

        dense = MilvusVectorIndex.load(build)
    if not (len(passages) == len(passage_vectors) == len(dense) == len(lexical) == len(offsets) - 1):
        raise IndexError_("index parts disagree on the number of passages")
    if any(p.passage_id != row for row, p in enumerate(passages)):
        raise IndexError_("passage ids are not their rows")
    metadata_terms = {doc_id: frozenset(lexical_tokens(metadata_text(a))) for doc_id, a in articles.items()}
    sentences_agree = int(offsets[-1]) == len(sentence_vectors) == len(sentence_lexical)
    if not sentences_agree or dense.dimension != manifest["dimension"]:
        raise IndexError_("index parts disagree on sentences or dimension")
    return CorpusIndex(
        articles=articles,
        passages=passages,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        sentence_offsets=offsets,
        dense=dense,
        lexical=lexical,
        sentence_lexical=sentence_lexical,
        acronyms=dict(corpus.get("acronyms", {})),
        neighbours=neighbours,
        manifest=manifest,
        metadata_terms=metadata_terms,
        metadata_vocabulary=frozenset().union(*metadata_terms.values()),
    )
