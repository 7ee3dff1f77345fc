"""Chunking: paragraphs become passages; long ones split at sentence boundaries, short fragments join a neighbour."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from rag.types import Article, Passage, Span

CHUNKER_VERSION = "3"
DEFAULT_MAX_TOKENS = 254  # all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP]
DEFAULT_MIN_WORDS = 12

SentenceSplitter = Callable[[str], Sequence[tuple[int, int]]]
TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Piece:
    """A passage before it has an id: a run of sentences of one paragraph (or two, once merged)."""

    paragraph: int
    section: str
    sentences: tuple[Span, ...]

    @property
    def start(self) -> int:
        return self.sentences[0].start

    @property
    def end(self) -> int:
        return self.sentences[-1].end


def split_oversized(span: Span, text: str, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """Cut one sentence too long for the model into word windows that each fit.

    Windows grow by doubling then bisecting over word counts, so a huge unpunctuated line costs
    O(n log n) token counts rather than one per word."""
    words = [(m.start() + span.start, m.end() + span.start) for m in re.finditer(r"\S+", text[span.start : span.end])]
    out: list[Span] = []
    i = 0
    while i < len(words):
        fits = lambda j: count_tokens(text[words[i][0] : words[j - 1][1]]) <= max_tokens  # noqa: E731
        low, high = i + 1, i + 2  # low always fits (a single word is cut no further)
        while high <= len(words) and fits(high):
            low, high = high, i + 2 * (high - i)
        high = min(high, len(words) + 1)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if fits(mid) else (low, mid)
        out.append(Span(words[i][0], words[low - 1][1]))
        i = low
    return out


def pack_sentences(spans: list[Span], text: str, count_tokens: TokenCounter, max_tokens: int) -> list[list[Span]]:
    """Greedily group consecutive sentences into runs that fit the model's window."""
    groups: list[list[Span]] = []
    for span in spans:
        if count_tokens(text[span.start : span.end]) > max_tokens:
            groups.extend([part] for part in split_oversized(span, text, count_tokens, max_tokens))
            continue
        if groups and count_tokens(text[groups[-1][0].start : span.end]) <= max_tokens:
            groups[-1].append(span)
        else:
            groups.append([span])
    return groups


def merge_short_pieces(
    pieces: list[Piece], text: str, count_tokens: TokenCounter, max_tokens: int, min_words: int
) -> list[Piece]:
    """A fragment under `min_words` joins the previous piece of its section, else the next one, if it fits."""

    def short(p: Piece) -> bool:
        return len(text[p.start : p.end].split()) < min_words

    def fits(a: Piece, b: Piece) -> bool:
        return a.section == b.section and count_tokens(text[a.start : b.end]) <= max_tokens

    merged: list[Piece] = []
    for piece in pieces:
        if merged and short(piece) and fits(merged[-1], piece):
            merged[-1] = replace(merged[-1], sentences=merged[-1].sentences + piece.sentences)
        else:
            merged.append(piece)
    out: list[Piece] = []
    i = 0
    while i < len(merged):
        piece = merged[i]
        if short(piece) and i + 1 < len(merged) and fits(piece, merged[i + 1]):
            piece = replace(piece, sentences=piece.sentences + merged[i + 1].sentences)
            i += 1
        out.append(piece)
        i += 1
    return out


def chunk_article(
    article: Article,
    split_sentences: SentenceSplitter,
    count_tokens: TokenCounter,
    first_id: int = 0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    min_words: int = DEFAULT_MIN_WORDS,
) -> list[Passage]:
    """Passages of one article, numbered from `first_id`, with sentence offsets into the article text."""
    pieces: list[Piece] = []
    for paragraph in article.paragraphs:
        body = article.paragraph_text(paragraph)
        spans = [Span(paragraph.start + s, paragraph.start + e) for s, e in split_sentences(body)]
        if not spans:
            continue
        for group in pack_sentences(spans, article.text, count_tokens, max_tokens):
            pieces.append(Piece(paragraph.number, paragraph.section, tuple(group)))
    pieces = merge_short_pieces(pieces, article.text, count_tokens, max_tokens, min_words)
    return [
        Passage(
            passage_id=first_id + n,
            doc_id=article.doc_id,
            paragraph=piece.paragraph,
            start=piece.start,
            end=piece.end,
            text=article.text[piece.start : piece.end],
            section=piece.section,
            sentences=piece.sentences,
        )
        for n, piece in enumerate(pieces)
    ]
