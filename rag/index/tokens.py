"""Lexical tokens: lower-cased, stop-word-free, Snowball-stemmed words, as BM25 and the answer stage see text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves s t d ll m re ve
    also may might must shall said says""".split()
)
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


_STEM = None


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed word tokens ("Japan's bans" -> ["japan", "ban"])."""
    global _STEM
    if _STEM is None:
        _STEM = _stemmer()
    words = [w for w in WORD.findall(text.casefold().replace("’", "'").replace("'s ", " ")) if w not in STOPWORDS]
    return _STEM.stemWords(words)


@lru_cache(maxsize=1 << 16)
def text_tokens(text: str) -> tuple[str, ...]:
    """`lexical_tokens` of a text, remembered: the composer stems the same passages' sentences question after
    question (a popular passage is stemmed once, not once per question)."""
    return tuple(lexical_tokens(text))


def word_stems(words: Sequence[str]) -> list[str]:
    """Each word's stem as `lexical_tokens` gives it, or "" for a stop word: one entry per word, aligned."""
    global _STEM
    if _STEM is None:
        _STEM = _stemmer()
    lowered = [w.casefold().replace("’", "'") for w in words]
    kept = [w for w in lowered if w not in STOPWORDS]
    stems = iter(_STEM.stemWords(kept))
    return [next(stems) if w not in STOPWORDS else "" for w in lowered]
