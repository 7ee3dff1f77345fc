"""A CorpusIndex made by hand, without the model: tiny articles, sentence vectors the test chooses, real FAISS
and BM25. For fast tests of the stages above the index (and for mutation runs, which repeat them per mutant).

Each paragraph is one passage; its vector is the normalised mean of its sentences' vectors, which
`vector_of(sentence)` gives (`bag_of_words` is a ready-made one: texts sharing stems are close)."""

from __future__ import annotations

import zlib
from typing import Callable, Sequence

import numpy as np

from rag.index.corpus_index import CorpusIndex
from rag.index.recipe import metadata_text, mine_acronyms
from rag.index.lexical import LexicalIndex
from rag.index.vectors import VectorIndex
from rag.index.tokens import lexical_tokens
from rag.types import Article, Paragraph, Passage, Span

BAG_DIMENSION = 512


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def bag_of_words(text: str) -> np.ndarray:
    """A hand-made embedding: each stem hashed to one axis, L2-normalised (cosine = shared stems)."""
    vector = np.zeros(BAG_DIMENSION, dtype=np.float32)
    for token in lexical_tokens(text):
        vector[zlib.crc32(token.encode()) % BAG_DIMENSION] += 1.0
    if not vector.any():
        vector[0] = 1.0
    return unit(vector)


def encode_bag(texts: Sequence[str]) -> np.ndarray:
    return np.stack([bag_of_words(t) for t in texts])


def make_article(doc_id: str, paragraphs: Sequence[Sequence[str]], title: str = "", authors=(), url: str = "",
                 publisher: str = "", pages: Sequence[int] | None = None) -> Article:
    texts = [" ".join(sentences) for sentences in paragraphs]
    spans, offset = [], 0
    for number, text in enumerate(texts, start=1):
        page = pages[number - 1] if pages else None
        spans.append(Paragraph(number=number, start=offset, end=offset + len(text), page=page))
        offset += len(text) + 2
    return Article(doc_id=doc_id, title=title or doc_id.title(), text="\n\n".join(texts), paragraphs=tuple(spans),
                   authors=tuple(authors), url=url or f"https://example.org/{doc_id}", publisher=publisher,
                   source_name=f"{doc_id}.txt")


def handmade_index(
    articles: Sequence[tuple[Article, Sequence[Sequence[str]]]],
    vector_of: Callable[[str], np.ndarray] = bag_of_words,
    neighbours: dict[str, list[str]] | None = None,
) -> CorpusIndex:
    """`articles`: each Article with the sentences of its paragraphs (as given to make_article)."""
    passages, sentence_vectors, passage_vectors, offsets, sentence_texts = [], [], [], [0], []
    for article, paragraphs in articles:
        for paragraph, sentences in zip(article.paragraphs, paragraphs):
            spans, start = [], paragraph.start
            for sentence in sentences:
                spans.append(Span(start, start + len(sentence)))
                start += len(sentence) + 1
            text = article.text[paragraph.start : paragraph.end]
            passages.append(Passage(len(passages), article.doc_id, paragraph.number, paragraph.start, paragraph.end,
                                    text, sentences=tuple(spans)))
            vectors = [unit(vector_of(s)) for s in sentences]
            sentence_vectors += vectors
            sentence_texts += sentences
            passage_vectors.append(unit(np.mean(vectors, axis=0)))
            offsets.append(offsets[-1] + len(sentences))
    passage_vectors = np.stack(passage_vectors).astype(np.float32)
    by_id = {a.doc_id: a for a, _ in articles}
    metadata_terms = {doc_id: frozenset(lexical_tokens(metadata_text(a))) for doc_id, a in by_id.items()}
    return CorpusIndex(
        articles=by_id,
        passages=tuple(passages),
        passage_vectors=passage_vectors,
        sentence_vectors=np.stack(sentence_vectors).astype(np.float32),
        sentence_offsets=np.asarray(offsets, dtype=np.int64),
        dense=VectorIndex(passage_vectors, kind="flat"),
        lexical=LexicalIndex([lexical_tokens(f"{p.section} {p.text}") for p in passages]),
        sentence_lexical=LexicalIndex([lexical_tokens(s) for s in sentence_texts]),
        acronyms=mine_acronyms([a.text for a in by_id.values()]),
        manifest={},
        metadata_terms=metadata_terms,
        metadata_vocabulary=frozenset().union(*metadata_terms.values()),
        neighbours=neighbours or {},
    )


# ---------------------------------------------------------------- a corpus both composers are tested on

PORT = [
    ["The harbour authority of Northport approved a new container terminal on 3 March 2021.",
     "The vote followed a long public debate."],
    ["Critics said the container terminal would damage the wetlands south of the city.",
     "Rare migrating birds rest in those wetlands every spring."],
    ["Construction of the terminal began in June 2022.", "It is expected to finish in 2026."],
]
STADIUM = [["The football club opened its new stadium on Saturday with forty thousand fans watching.",
            "The stadium cost the club 90 million euros."]]


def port_and_stadium_index() -> CorpusIndex:
    """Two articles, bag-of-words vectors: a terminal approved, opposed and built; a stadium opened."""
    port = make_article("port", PORT, title="Northport terminal")
    stadium = make_article("stadium", STADIUM, title="Stadium opens")
    return handmade_index([(port, PORT), (stadium, STADIUM)])
