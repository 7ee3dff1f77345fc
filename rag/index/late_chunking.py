"""Late chunking: sentence vectors mean-pooled from their passage's own token embeddings (one forward pass).

Günther, Mohr, Williams, Wang and Xiao, "Late Chunking: Contextual Chunk Embeddings Using Long-Context
Embedding Models" (2024): run the model once over the whole text, then mean-pool the token embeddings of each
chunk's token span. Here the text is a passage and the chunks are its sentences; the pooling is the model's
own (mean over tokens, then L2 normalisation), restricted to a span, and the special tokens ([CLS], [SEP])
belong to no sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

Span = tuple[int, int]  # [start, end) characters of the embedded text


@dataclass(frozen=True)
class ContextVectors:
    """Vectors of a batch of texts and of their sentences, rows of `sentences` in text order then span order."""

    passages: np.ndarray  # (texts, dimension)
    sentences: np.ndarray  # (total spans, dimension)


def token_ranges(offsets: Sequence[Span], special: Sequence[int], spans: Sequence[Span]) -> list[Span]:
    """For each character span (sorted, not overlapping), the [first, last) rows of the tokens in it,
    special and empty tokens left out; (0, 0) for a span no token covers (cut off by truncation, or blank).

    A token belongs to the first span that ends after the token starts, if it overlaps that span; tokens
    are in text order, so each span's tokens are consecutive rows."""
    if not spans:
        return []
    chars = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    span_of = np.searchsorted(ends, chars[:, 0], side="right")
    usable = (np.asarray(special, dtype=bool) == 0) & (chars[:, 1] > chars[:, 0]) & (span_of < len(spans))
    usable[usable] &= chars[usable, 1] > starts[span_of[usable]]
    rows = np.flatnonzero(usable)
    owner = span_of[rows]
    lo = np.searchsorted(owner, np.arange(len(spans)), side="left")
    hi = np.searchsorted(owner, np.arange(len(spans)), side="right")
    return [(int(rows[a]), int(rows[b - 1]) + 1) if b > a else (0, 0) for a, b in zip(lo, hi)]


def pool_ranges(tokens: np.ndarray, ranges: Sequence[Span]) -> np.ndarray:
    """Mean of each range of token rows, L2-normalised (as the model pools a whole text); zeros for (0, 0)."""
    out = np.zeros((len(ranges), tokens.shape[1]), dtype=np.float32)
    for i, (first, last) in enumerate(ranges):
        if last > first:
            mean = tokens[first:last].mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def empty_rows(ranges_per_text: Sequence[Sequence[Span]]) -> list[int]:
    """Flat sentence rows whose span had no token (the caller embeds those sentences on their own)."""
    flat = [r for ranges in ranges_per_text for r in ranges]
    return [i for i, (first, last) in enumerate(flat) if last <= first]


def sentence_offsets(spans_per_text: Sequence[Sequence[Span]]) -> np.ndarray:
    """Text i's sentences are flat rows offsets[i]:offsets[i + 1]."""
    return np.cumsum([0] + [len(s) for s in spans_per_text]).astype(np.int64)
