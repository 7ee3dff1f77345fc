"""Build-time vectors of passages and their sentences: late-chunked from one forward pass, or embedded one by one."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.types import Passage

SENTENCE_VECTORS_ENV = "RAG_SENTENCE_VECTORS"
# "late": each sentence's vector mean-pooled from its passage's forward pass (rag.index.late_chunking), one pass per
# passage, about twice the build speed. "separate": every sentence embedded again on its own.
# The default stays "separate" while the answer composer's weights are set for its cosines: late-chunked
# sentences carry their passage's context, their cosines to a question run ~0.05 lower (SQuAD dev, two
# articles: mean best cosine 0.624 vs 0.676) and the hand-set confidence then abstains more (SQuAD answer_hit
# 0.730 vs 0.758, false abstain 0.130 vs 0.078; accuracy 0.474 vs 0.462), more than one question's worth.
# A composer refitted on late-chunked cosines may close that gap: compare, then flip this default.
SENTENCE_VECTOR_MODES = ("late", "separate")
DEFAULT_SENTENCE_VECTORS = "separate"


def resolve_sentence_vectors(mode: str | None = None) -> str:
    """The argument, else $RAG_SENTENCE_VECTORS, else the default; anything else is a ValueError."""
    chosen = (mode or os.environ.get(SENTENCE_VECTORS_ENV) or DEFAULT_SENTENCE_VECTORS).strip().lower()
    if chosen not in SENTENCE_VECTOR_MODES:
        raise ValueError(f"sentence vectors must be one of {SENTENCE_VECTOR_MODES}, not {chosen!r}")
    return chosen


def content_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def sentence_key(mode: str, passage_text: str, span: tuple[int, int]) -> str:
    """What a sentence vector depends on: its text alone ("separate"), or its passage and place in it ("late")."""
    if mode == "separate":
        return content_key(passage_text[span[0] : span[1]])
    return content_key(f"late\0{span[0]}:{span[1]}\0{passage_text}")


def relative_spans(passage: Passage) -> list[tuple[int, int]]:
    """The passage's sentences as character offsets into its own text."""
    return [(s.start - passage.start, s.end - passage.start) for s in passage.sentences]


@dataclass(frozen=True)
class PassageVectors:
    """Vectors of a build: one per passage, one per sentence (passages' sentences in order), and the keys
    a later build looks them up by."""

    passages: np.ndarray
    sentences: np.ndarray
    passage_keys: tuple[str, ...]
    sentence_keys: tuple[str, ...]
    embedded: int  # passages that went through the model (not found in the previous build)


class VectorLookup:
    """Rows of an earlier build's vectors by key (the embedding cache): unchanged text is not embedded again."""

    def __init__(self, keys: Sequence[str] = (), vectors: np.ndarray | None = None):
        usable = vectors is not None and vectors.ndim == 2 and len(keys) == len(vectors)
        self.rows = {key: i for i, key in enumerate(keys)} if usable else {}
        self.vectors = vectors

    @classmethod
    def from_build(cls, build: Path | None, name: str) -> "VectorLookup":
        """`name`_keys.json and `name`_vectors.npy of a build; empty when there is none or it is unreadable."""
        if build is None:
            return cls()
        try:
            keys = json.loads((build / f"{name}_keys.json").read_text(encoding="utf-8"))
            return cls(keys, np.load(build / f"{name}_vectors.npy", allow_pickle=False))
        except (OSError, ValueError):
            return cls()

    def has(self, keys: Sequence[str]) -> bool:
        return all(k in self.rows for k in keys)

    def get(self, keys: Sequence[str]) -> np.ndarray:
        return self.vectors[[self.rows[k] for k in keys]]


def embed_passages(
    passages: Sequence[Passage],
    texts: Sequence[str],
    embedder,
    mode: str,
    previous_passages: VectorLookup | None = None,
    previous_sentences: VectorLookup | None = None,
    progress: bool = False,
) -> PassageVectors:
    """Vectors of every passage and sentence, reusing an earlier build's where the keys match.

    `texts` are what the model reads for each passage (the passage text itself: late chunking locates the
    sentences in it by their offsets)."""
    dimension = embedder.dimension
    spans = [relative_spans(p) for p in passages]
    passage_keys = [content_key(t) for t in texts]
    sentence_keys = [[sentence_key(mode, t, s) for s in ss] for t, ss in zip(texts, spans)]
    offsets = np.cumsum([0] + [len(s) for s in spans]).astype(np.int64)
    out_passages = np.zeros((len(texts), dimension), dtype=np.float32)
    out_sentences = np.zeros((int(offsets[-1]), dimension), dtype=np.float32)
    old_p, old_s = previous_passages or VectorLookup(), previous_sentences or VectorLookup()
    encode: Callable[[list[str]], np.ndarray] = lambda batch: embedder.encode(batch, show_progress=progress)  # noqa: E731
    if mode == "separate":  # each text on its own, cached by its own content
        todo = [i for i, key in enumerate(passage_keys) if not old_p.has([key])]
        done = [i for i, key in enumerate(passage_keys) if old_p.has([key])]
        if done:
            out_passages[done] = old_p.get([passage_keys[i] for i in done])
        if todo:
            out_passages[todo] = encode([texts[i] for i in todo])
        flat_keys = [k for keys in sentence_keys for k in keys]
        flat_texts = [t[a:b] for t, ss in zip(texts, spans) for a, b in ss]
        missing = [i for i, key in enumerate(flat_keys) if not old_s.has([key])]
        present = sorted(set(range(len(flat_keys))) - set(missing))
        if present:
            out_sentences[present] = old_s.get([flat_keys[i] for i in present])
        if missing:
            out_sentences[missing] = encode([flat_texts[i] for i in missing])
        embedded = len(todo)
    else:  # a passage and its sentences come from one forward pass, so they are reused together
        todo = []
        for i, key in enumerate(passage_keys):
            if old_p.has([key]) and old_s.has(sentence_keys[i]):
                out_passages[i] = old_p.get([key])[0]
                out_sentences[offsets[i] : offsets[i + 1]] = old_s.get(sentence_keys[i])
            else:
                todo.append(i)
        if todo:
            fresh = embedder.encode_in_context([texts[i] for i in todo], [spans[i] for i in todo], show_progress=progress)
            out_passages[todo] = fresh.passages
            fresh_offsets = np.cumsum([0] + [len(spans[i]) for i in todo])
            for j, i in enumerate(todo):
                out_sentences[offsets[i] : offsets[i + 1]] = fresh.sentences[fresh_offsets[j] : fresh_offsets[j + 1]]
        embedded = len(todo)
    return PassageVectors(
        out_passages, out_sentences, tuple(passage_keys), tuple(k for keys in sentence_keys for k in keys), embedded
    )
