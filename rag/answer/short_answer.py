"""Short answers: the exact phrase of the answer sentence that answers (a date, number, name …), or none."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from rag.answer.question import WH_WORDS, Question
from rag.answer.scoring import Scorer
from rag.index.tokens import STOPWORDS, word_stems
from rag.types import Citation, ShortAnswer

if TYPE_CHECKING:  # the feature scorer's candidate sentence, only read here
    from rag.answer.features import Candidate

MAX_SPAN_TOKENS = 8
TOKEN = re.compile(r"\w+(?:[-'’.,]\d+|[-'’]\w+)*%?|[^\w\s]")
# Words a phrase may hold inside but should not begin or end with.
EDGE_WORDS = STOPWORDS | {"of", "and", "or", "but", "which", "that", "who", "also", "although"}
INNER_ALLOWED = frozenset("of and the de du la von van der & -".split())
PREPOSITIONS = frozenset("in at on by from to of for with during since after before until under into near".split())
YEAR = re.compile(r"^(1\d\d\d|20\d\d)s?$")
ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$", re.I)
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
    "thousand million billion trillion dozen half third quarter".split()
)
MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return self.text[:1].isalnum()

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()

    @property
    def numeric(self) -> bool:
        lower = self.text.lower()
        return self.text[:1].isdigit() or lower in NUMBER_WORDS or bool(ORDINAL.match(self.text))


@dataclass(frozen=True)
class SpanCandidate:
    """A phrase of the sentence: token positions [first, last] and character offsets into the sentence."""

    first: int
    last: int
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end()) for m in TOKEN.finditer(text)]


def span_candidates(tokens: Sequence[Token], text: str, max_tokens: int = MAX_SPAN_TOKENS) -> list[SpanCandidate]:
    """Every run of up to `max_tokens` tokens that starts and ends with a content word and crosses no
    clause punctuation (commas only inside a list such as "Denmark, Iceland and Norway")."""
    out = []
    for i, first in enumerate(tokens):
        if not first.is_word or first.text.lower() in EDGE_WORDS:
            continue
        for j in range(i, min(len(tokens), i + max_tokens)):
            token = tokens[j]
            if not token.is_word and token.text not in ",-&'’":
                break
            if token.text == "," and not (j + 1 < len(tokens) and tokens[j + 1].capitalised and first.capitalised):
                break
            if token.is_word and token.text.lower() not in EDGE_WORDS:
                out.append(SpanCandidate(i, j, first.start, token.end, text[first.start : token.end]))
    return out


DETERMINERS = frozenset("the a an this that these those its their his her".split())
COPULAS = frozenset("is are was were be been being became become called named known".split())
KINDS = ("name", "number", "date", "lower")
LENGTHS = (1, 2, 3, 5, MAX_SPAN_TOKENS)


DATE_WORDS = MONTHS | {"century", "centuries", "early", "late", "mid", "and", "of"}
MAX_NUMBER_TOKENS = 4  # "1.3 million tons", "42 per cent"


def is_date_word(token: Token) -> bool:
    return bool(YEAR.match(token.text) or ORDINAL.match(token.text) or token.text.isdigit()) or (
        token.text.lower() in DATE_WORDS
    )


def span_kind(words: Sequence[Token]) -> str:
    """What a phrase is, strictly: a date (only date words, with a year, month or century in it), a number
    (a number first, a unit or two after), a name (capitalised words, "of"/"the" inside) or anything else."""
    if not words:
        return "lower"
    lowered = [w.text.lower() for w in words]
    dated = any(YEAR.match(w.text) or w.text.lower() in MONTHS or "centur" in w.text.lower() for w in words)
    if dated and all(is_date_word(w) for w in words) and lowered[-1] not in ("and", "of"):
        return "date"
    if words[0].numeric and len(words) <= MAX_NUMBER_TOKENS and not any(w.capitalised for w in words[1:]):
        return "number"
    inner = all(w.capitalised or w.text.lower() in INNER_ALLOWED for w in words)
    if inner and words[0].capitalised and words[-1].capitalised:
        return "name"
    return "lower"


def token_class(token: Token | None) -> str:
    if token is None:
        return "edge"
    lower = token.text.lower()
    if not token.is_word:
        return "punct"
    if lower in PREPOSITIONS:
        return "prep"
    if lower in DETERMINERS:
        return "det"
    if lower in COPULAS:
        return "copula"
    if lower in ("and", "or"):
        return "conj"
    return "word"


TOKEN_CLASSES = ("edge", "punct", "prep", "det", "copula", "conj", "word")
SPAN_FEATURES = (
    "question_overlap",  # share of the phrase's content words the question already uses (stems)
    "question_words_exact",  # the same, for the words as written
    "log_distance_left",  # to the nearest question word before the phrase
    "log_distance_right",
    "question_terms_near",  # distinct question words within five tokens
    "focus_near",  # the noun a what/which question asks for is next to the phrase ("the river Deabolis")
    "maximal_name",  # a capitalised run that cannot be extended
    "log_tokens",
    *(f"length_upto_{n}" for n in LENGTHS),
    *(f"before_{c}" for c in TOKEN_CLASSES),
    *(f"after_{c}" for c in TOKEN_CLASSES),
    *(f"{wh}_{kind}" for wh in (*WH_WORDS[:3], *WH_WORDS[5:8], "other") for kind in KINDS),
    "sentence_position",
)


def span_feature_matrix(spans: Sequence[SpanCandidate], tokens: Sequence[Token], question: Question) -> np.ndarray:
    """One row of SPAN_FEATURES per candidate phrase."""
    asked = set(question.terms.terms)
    asked_words = {w for w in re.findall(r"[a-z0-9]+", question.text.lower()) if w not in STOPWORDS}
    stems = [stem if t.is_word else "" for t, stem in zip(tokens, word_stems([t.text for t in tokens]))]
    matches = [i for i, stem in enumerate(stems) if stem and stem in asked]
    wh, focus = question.wh, question.focus
    wh_kinds = [f"{w}_{k}" for w in (*WH_WORDS[:3], *WH_WORDS[5:8], "other") for k in KINDS]
    rows = []
    for s in spans:
        inside = [stems[k] for k in range(s.first, s.last + 1) if stems[k]]
        words = [tokens[k] for k in range(s.first, s.last + 1) if tokens[k].is_word]
        left = [s.first - i for i in matches if i < s.first]
        right = [i - s.last for i in matches if i > s.last]
        near = {stems[i] for i in matches if s.first - 5 <= i <= s.last + 5 and not s.first <= i <= s.last}
        before = tokens[s.first - 1] if s.first > 0 else None
        after = tokens[s.last + 1] if s.last + 1 < len(tokens) else None
        kind = span_kind(words)
        window = range(max(0, s.first - 2), min(len(tokens), s.last + 3))
        n = s.last - s.first + 1
        row = [
            sum(w in asked for w in inside) / len(inside) if inside else 1.0,
            sum(w.text.lower() in asked_words for w in words) / len(words) if words else 1.0,
            math.log(1 + min(left, default=len(tokens))),
            math.log(1 + min(right, default=len(tokens))),
            float(len(near)),
            float(bool(focus) and any(stems[k] == focus for k in window if not s.first <= k <= s.last)),
            float(kind == "name" and all(w.capitalised or w.text.lower() in INNER_ALLOWED for w in words)
                  and not (before and before.capitalised) and not (after and after.capitalised)),
            math.log(1 + n),
            *(float(n <= limit) for limit in LENGTHS),
            *(float(token_class(before) == c) for c in TOKEN_CLASSES),
            *(float(token_class(after) == c) for c in TOKEN_CLASSES),
            *(float(name == f"{wh if wh in ('what', 'which', 'who', 'when', 'where', 'how') else 'other'}_{kind}")
              for name in wh_kinds),
            s.first / max(1, len(tokens) - 1),
        ]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(SPAN_FEATURES))


@dataclass(frozen=True)
class ScoredSpan:
    span: SpanCandidate
    probability: float


# The phrase a typed question asks for: a date, a number, a name (of a person or a place).
KIND_OF_TYPE = {"when": "date", "quantity": "number", "who": "name", "where": "name"}


def best_span(sentence: str, question: Question, scorer: Scorer) -> ScoredSpan | None:
    """The most likely answering phrase of a sentence among those of the kind the question asks for, or None
    when the question asks for no such kind (a what/why question's answer is rarely one phrase) or the
    sentence offers none."""
    wanted = KIND_OF_TYPE.get(question.answer_type)
    if wanted is None:
        return None
    tokens = tokenize(sentence)
    spans = [
        s for s in span_candidates(tokens, sentence)
        if span_kind([t for t in tokens[s.first : s.last + 1] if t.is_word]) == wanted
    ]
    if not spans:
        return None
    probabilities = scorer.span.probabilities_in(span_feature_matrix(spans, tokens, question), SPAN_FEATURES)
    # ties go to the shorter phrase, then the earlier one
    i = min(range(len(spans)), key=lambda k: (-probabilities[k], spans[k].end - spans[k].start, spans[k].start))
    whole = spans[i] if wanted == "number" else whole_phrase(spans[i], tokens, sentence, wanted)
    return ScoredSpan(whole, float(probabilities[i]))


def whole_phrase(span: SpanCandidate, tokens: Sequence[Token], sentence: str, kind: str) -> SpanCandidate:
    """A date or a name is given whole: grow the phrase over neighbouring tokens while it stays of its kind
    ("January 1991" -> "1 January 1991", "Charles III" -> "King Charles III")."""
    first, last = span.first, span.last

    def kind_of(a: int, b: int) -> str:
        return span_kind([t for t in tokens[a : b + 1] if t.is_word])

    while first > 0 and tokens[first - 1].is_word and kind_of(first - 1, last) == kind:
        first -= 1
    while last + 1 < len(tokens) and tokens[last + 1].is_word and kind_of(first, last + 1) == kind:
        last += 1
    start, end = tokens[first].start, tokens[last].end
    return SpanCandidate(first, last, start, end, sentence[start:end])


def find_short_answer(
    candidate: Candidate,
    question: Question,
    scorer: Scorer,
    citations: Sequence[Citation],
    answer_text: str,
) -> ShortAnswer | None:
    """The short answer inside the first answer sentence, located in its citation and in the answer text."""
    found = best_span(candidate.text, question, scorer)
    if found is None or found.probability < scorer.min_span_probability:
        return None
    citation = next((c for c in citations if c.doc_id == candidate.hit.doc_id and c.paragraph == candidate.hit.paragraph
                     and candidate.span in c.spans), None)
    if citation is None:
        return None
    start = candidate.span.start - candidate.hit.passage.start + found.span.start
    end = start + len(found.span.text)
    in_answer = answer_text.find(candidate.text)
    if in_answer < 0 or citation.text[start:end] != found.span.text:
        return None
    return ShortAnswer(
        text=found.span.text,
        citation=citation.number,
        start=start,
        end=end,
        answer_start=in_answer + found.span.start,
        answer_end=in_answer + found.span.end,
        score=round(found.probability, 3),
    )
