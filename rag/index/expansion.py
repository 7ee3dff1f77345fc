"""Query expansion the corpus teaches: a question word the corpus barely uses is expanded with the corpus's own
words that embed closest to it ("fish" -> "seafood"), so no hand-written synonym list is needed.

Only words rare in the corpus are expanded (a vocabulary mismatch is what expansion fixes; a common word
already matches), and only towards words the corpus uses. Words are the model tokenizer's whole words,
embedded once per model and cached beside the exported ONNX graph, so a build embeds no extra text."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from rag.index.tokens import STOPWORDS, lexical_tokens

MAX_CORPUS_WORDS = 30_000  # the most frequent corpus words; rarer ones are names and typos
MIN_WORD_LENGTH = 3
NEIGHBOURS = 2  # expansion terms per question word
MIN_NEIGHBOUR_COSINE = 0.55  # all-MiniLM-L6-v2 single-word pairs above this are near-synonyms ("fish"/"seafood")
RARE_IN_CORPUS = 1  # a question word in at most this many passages is expanded
COMMON_ENOUGH = 1  # an expansion word must be in at least this many passages (any corpus word)
EXPANSION_WEIGHT = 0.5  # an expansion term counts half as much as a word of the question (RM3's usual mix)
WORD = re.compile(r"^[a-z]+$")

Encoder = Callable[[Sequence[str]], np.ndarray]


def surface_forms(texts: Iterable[str], limit: int = MAX_CORPUS_WORDS) -> dict[str, str]:
    """stem -> its most frequent lower-case word in the texts, for the `limit` most frequent stems."""
    forms: dict[str, Counter] = {}
    for text in texts:
        for word in re.findall(r"[A-Za-z]+", text):
            lower = word.lower()
            if len(lower) < MIN_WORD_LENGTH or lower in STOPWORDS:
                continue
            for stem in lexical_tokens(lower):
                forms.setdefault(stem, Counter())[lower] += 1
    ranked = sorted(forms.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:limit]
    return {stem: counts.most_common(1)[0][0] for stem, counts in ranked}


def tokenizer_words(model_dir: Path) -> list[str]:
    """The whole (not ##-continuation) lower-case words of the model's vocabulary: the words a question may use."""
    path = Path(model_dir) / "vocab.txt"
    if not path.is_file():
        return []
    words = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return sorted({w for w in words if WORD.match(w) and len(w) >= MIN_WORD_LENGTH and w not in STOPWORDS})


def word_vectors(words: Sequence[str], encode: Encoder, cache: Path | None) -> np.ndarray:
    """Vectors of the model's whole words, computed once per model and kept in `cache` (words.npy)."""
    key = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()[:16]
    path = cache / f"words-{key}.npy" if cache is not None else None
    if path is not None:
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape[0] == len(words):
                return vectors
        except (OSError, ValueError):
            pass
    vectors = np.asarray(encode(list(words)), dtype=np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            with open(tmp, "wb") as f:
                np.save(f, vectors, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs the next build the same work
    return vectors


def rare_word_neighbours(
    corpus_texts: Iterable[str],
    document_frequency: Mapping[str, int],
    vocabulary: Sequence[str],
    vectors: np.ndarray,
) -> dict[str, list[str]]:
    """stem of a vocabulary word the corpus barely uses -> up to NEIGHBOURS stems of corpus words close to it.

    `vocabulary` are the model's whole words with their `vectors`; expansion targets are the corpus's own
    words among them (names and compounds the tokenizer splits are not expansion targets)."""
    row = {w: i for i, w in enumerate(vocabulary)}
    corpus = {
        s: w for s, w in surface_forms(corpus_texts).items() if w in row and document_frequency.get(s, 0) >= COMMON_ENOUGH
    }
    asked: dict[str, str] = {}
    for word in vocabulary:
        stems = lexical_tokens(word)
        if stems and document_frequency.get(stems[0], 0) <= RARE_IN_CORPUS:
            asked.setdefault(stems[0], word)
    if not corpus or not asked:
        return {}
    asked_stems, corpus_stems = list(asked), list(corpus)
    targets = vectors[[row[corpus[s]] for s in corpus_stems]]
    out: dict[str, list[str]] = {}
    for start in range(0, len(asked_stems), 4096):  # blocks keep the similarity matrix small
        block = asked_stems[start : start + 4096]
        similarity = vectors[[row[asked[s]] for s in block]] @ targets.T
        for stem, sims in zip(block, similarity):
            order = np.argsort(-sims)[: NEIGHBOURS + 1]
            chosen = [corpus_stems[j] for j in order if sims[j] >= MIN_NEIGHBOUR_COSINE and corpus_stems[j] != stem]
            if chosen:
                out[stem] = chosen[:NEIGHBOURS]
    return out


def expansion_terms(tokens: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> list[str]:
    """The neighbours of the query's tokens that the query does not already hold, in order, once each."""
    asked = set(tokens)
    out: list[str] = []
    for token in tokens:
        for neighbour in neighbours.get(token, ()):
            if neighbour not in asked and neighbour not in out:
                out.append(neighbour)
    return out


def neighbours_to_json(neighbours: Mapping[str, Sequence[str]]) -> str:
    return json.dumps({k: list(v) for k, v in sorted(neighbours.items())}, ensure_ascii=False)
