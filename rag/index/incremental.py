"""Incremental index updates: add or remove articles of a loaded index without rebuilding the rest.

Adding embeds only the new article's passages and sentences; FAISS gets them appended (an IVF index keeps
its trained lists); both BM25 indexes insert their postings (rag.index.lexical). What a full build learns from the
whole corpus is kept as it is: the sentence splitter's Punkt parameters stored with the build are reused
for the new article, not retrained; acronyms the article defines are added, earlier definitions winning as
in a full build. Every step returns new objects: the index being searched meanwhile is never changed, and
the result is written as a new build published atomically (rag.index.builds.BuildStore), like a full build."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Collection, Sequence

import numpy as np

from rag.index.build_vectors import content_key, embed_passages, relative_spans, sentence_key
from rag.index.builds import article_to_dict, passage_to_dict
from rag.index.corpus_index import CorpusIndex
from rag.index.expansion import neighbours_to_json
from rag.index.recipe import metadata_text, mine_acronyms, passage_embedding_text, passage_lexical_text
from rag.index.tokens import lexical_tokens
from rag.ingest.chunking import chunk_article
from rag.types import Article, Passage

PUNKT_FILE = "punkt.json"


def with_metadata_terms(articles: dict[str, Article]) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    terms = {doc_id: frozenset(lexical_tokens(metadata_text(a))) for doc_id, a in articles.items()}
    return terms, frozenset().union(*terms.values())


def chunk_new_articles(articles: Sequence[Article], first_id: int, punkt: dict, embedder) -> list[Passage]:
    """Passages of new articles, numbered on from `first_id`, split into sentences by the stored Punkt model."""
    from rag.index.encoder import TokenCounter
    from rag.ingest.sentences import sentence_spans, tokenizer_from_parameters

    splitter = tokenizer_from_parameters(punkt)
    count_tokens = TokenCounter(embedder.model)
    passages: list[Passage] = []
    for article in articles:
        passages += chunk_article(
            article, lambda text: sentence_spans(splitter, text), count_tokens, first_id + len(passages), embedder.max_tokens
        )
    return passages


def add_articles(index: CorpusIndex, articles: Sequence[Article], punkt: dict, embedder) -> CorpusIndex:
    """A new index holding `index`'s articles and `articles` (whose doc ids must be new)."""
    clash = [a.doc_id for a in articles if a.doc_id in index.articles]
    if clash:
        raise ValueError(f"already indexed: {', '.join(clash)}")
    new = chunk_new_articles(articles, len(index.passages), punkt, embedder)
    by_id = {a.doc_id: a for a in articles}
    # the sentence vectors made as the build made them (each sentence on its own, or late-chunked)
    mode = index.manifest.get("sentence_vectors", "separate")
    vectors = embed_passages(new, [passage_embedding_text(by_id[p.doc_id], p) for p in new], embedder, mode)
    passage_vectors, sentence_vectors = vectors.passages, vectors.sentences
    sentence_texts = [p.sentence_text(s) for p in new for s in p.sentences]
    counts = np.cumsum([len(p.sentences) for p in new], dtype=np.int64)
    all_articles = {**index.articles, **by_id}
    terms, vocabulary = with_metadata_terms(all_articles)
    return replace(
        index,
        articles=all_articles,
        passages=index.passages + tuple(new),
        passage_vectors=np.vstack([index.passage_vectors, passage_vectors]),
        sentence_vectors=np.vstack([index.sentence_vectors, sentence_vectors]),
        sentence_offsets=np.concatenate([index.sentence_offsets, index.sentence_offsets[-1] + counts]),
        dense=index.dense.extended(passage_vectors, new),
        lexical=index.lexical.extended([lexical_tokens(passage_lexical_text(by_id[p.doc_id], p)) for p in new]),
        sentence_lexical=index.sentence_lexical.extended([lexical_tokens(t) for t in sentence_texts]),
        acronyms={**mine_acronyms([a.text for a in articles]), **index.acronyms},
        manifest=counted(index.manifest, all_articles, len(index.passages) + len(new), len(index.sentence_vectors) + len(sentence_texts)),
        metadata_terms=terms,
        metadata_vocabulary=vocabulary,
    )


def remove_articles(index: CorpusIndex, doc_ids: Collection[str]) -> CorpusIndex:
    """A new index without the articles `doc_ids`; the remaining passages are renumbered in order (ids are
    rows) and nothing is embedded again."""
    gone = set(doc_ids)
    keep = np.array([p.doc_id not in gone for p in index.passages], dtype=bool)
    kept_rows = np.flatnonzero(keep)
    sentence_keep = np.repeat(keep, np.diff(index.sentence_offsets))
    first_gone = int(np.argmin(keep)) if not keep.all() else len(keep)  # passages before it keep their ids
    passages = index.passages[:first_gone] + tuple(
        replace(index.passages[row], passage_id=n) for n, row in enumerate(kept_rows[first_gone:], start=first_gone)
    )
    counts = np.diff(index.sentence_offsets)[keep]
    articles = {doc_id: a for doc_id, a in index.articles.items() if doc_id not in gone}
    terms, vocabulary = with_metadata_terms(articles)
    passage_vectors = index.passage_vectors[keep]
    return replace(
        index,
        articles=articles,
        passages=passages,
        passage_vectors=passage_vectors,
        sentence_vectors=index.sentence_vectors[sentence_keep],
        sentence_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        dense=index.dense.without_rows(keep, passage_vectors),
        lexical=index.lexical.without_rows(keep),
        sentence_lexical=index.sentence_lexical.without_rows(sentence_keep),
        acronyms=acronyms_without(index, gone, articles),
        manifest=counted(index.manifest, articles, len(passages), int(counts.sum())),
        metadata_terms=terms,
        metadata_vocabulary=vocabulary,
    )


def acronyms_without(index: CorpusIndex, gone: set[str], remaining: dict[str, Article]) -> dict[str, str]:
    """The acronyms a full build of the remaining articles finds: the same as before unless a removed article
    gave one of them its long form, and only then mined again from every remaining article."""
    removed = mine_acronyms([index.articles[d].text for d in gone if d in index.articles])
    if all(index.acronyms.get(acronym) != long_form for acronym, long_form in removed.items()):
        return index.acronyms
    return mine_acronyms([a.text for a in remaining.values()])


def counted(manifest: dict, articles: dict, passages: int, sentences: int) -> dict:
    """The manifest's counts for the updated index (its files and fingerprint are set when it is published)."""
    manifest = {k: v for k, v in manifest.items() if k != "files"}
    manifest.update(articles=len(articles), passages=passages, sentences=sentences)
    return manifest


def write_index(index: CorpusIndex, staging: Path, punkt: dict) -> None:
    """Write an index in memory as the files of a build (the layout rag.index.build.write_build makes and
    load_index reads), into a staging folder to be published."""
    from rag.ingest.sentences import save_parameters

    corpus = {
        "articles": [article_to_dict(a) for a in index.articles.values()],
        "passages": [passage_to_dict(p) for p in index.passages],
        "acronyms": index.acronyms,
    }
    (staging / "corpus.json").write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    save_parameters(punkt, staging / PUNKT_FILE)
    mode = index.manifest.get("sentence_vectors", "separate")
    passage_texts = [passage_embedding_text(index.articles[p.doc_id], p) for p in index.passages]
    sentence_keys = [sentence_key(mode, t, span) for t, p in zip(passage_texts, index.passages) for span in relative_spans(p)]
    for name, keys, vectors in (
        ("passage", [content_key(t) for t in passage_texts], index.passage_vectors),
        ("sentence", sentence_keys, index.sentence_vectors),
    ):
        np.save(staging / f"{name}_vectors.npy", vectors, allow_pickle=False)
        (staging / f"{name}_keys.json").write_text(json.dumps(keys), encoding="utf-8")
    np.save(staging / "sentence_offsets.npy", index.sentence_offsets, allow_pickle=False)
    if index.dense.kind == "milvus":  # the collection is already updated: the build names it and its keys
        index.dense.save(staging)
    else:
        index.dense.save(staging / "dense.faiss")
    index.lexical.save(staging / "bm25")
    index.sentence_lexical.save(staging / "bm25_sentences")
    # the expansion terms of the full build stay: an added article rarely changes which words are rare
    (staging / "neighbours.json").write_text(neighbours_to_json(index.neighbours), encoding="utf-8")


def stamped(manifest: dict, fingerprint: str, started: float, change: str) -> dict:
    manifest = dict(manifest)
    manifest.update(
        corpus_hash=fingerprint,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        build_seconds=round(time.time() - started, 2),
        last_change=change,
    )
    return manifest
