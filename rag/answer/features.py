"""Features of candidate answer sentences and of a whole answer: pure functions over the question and passages."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np

from rag.answer.question import QuestionTerms
from rag.index.corpus_index import CorpusIndex
from rag.index.expansion import EXPANSION_WEIGHT
from rag.index.tokens import lexical_tokens, text_tokens
from rag.types import Hit, Passage, Span

# A sentence that opens by pointing back ("It took effect on …", "But a storm dispersed the fleet.") does not
# stand alone: it is read, and quoted, together with the sentence before it.
ANAPHORIC_START = re.compile(
    r"^(It|Its|This|That|These|Those|They|Their|He|His|She|Her|Such|The move|The decision"
    r"|But|However|Yet|Thus|Therefore|Instead|In response)\b"
)
MIN_CANDIDATE_WORDS = 4

MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
WEEKDAY = r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
# What an answer of each type looks like: a date, a place after a preposition, a name or role, a number, a cause.
TYPE_EVIDENCE = {
    "when": re.compile(
        rf"\b(1\d\d\d|20\d\d|\d\d?(st|nd|rd|th) centur(y|ies))s?\b|\b{MONTH}\b|\b{WEEKDAY}\b"
        r"|\b(ago|last (year|month|week)|centur(y|ies)|decades?)\b"
    ),
    "where": re.compile(r"\b(in|at|to|from|near|on the sidelines of)\s+(the\s+)?[A-Z][\w-]+"),
    "who": re.compile(
        r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b"
        r"|\b(President|Minister|Secretary|Premier|King|Queen|Duke|Pope|Emperor|analyst|official|spokesperson)\b"
    ),
    "quantity": re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred"
        r"|thousand|million|billion|trillion|dozen|per ?cent|half|third|quarter)\b",
        re.I,
    ),
    "why": re.compile(
        r"\b(because|due to|following|after|over|amid|as a result|in response|prompted|led to|caused|reason|since"
        r"|decision to|owing to|fears?|feared|concerns?|concerned|citing|cited|so that|in order to)\b",
        re.I,
    ),
    # what someone did in answer to an event: a reaction verb, not the event told again
    "response": re.compile(
        r"\b(respond\w*|react\w*|retaliat\w*|protest\w*|condemn\w*|criticis\w*|criticiz\w*|denounc\w*|lodg\w*"
        r"|summon\w*|urg\w*|call(ed|s)? (on|for)|vow\w*|warn\w*|demand\w*|reject\w*|suspend\w*|halt\w*"
        r"|announc\w*|pledg\w*|counter\w*|insist\w*|in response|in return|in turn)\b",
        re.I,
    ),
}
NUMBER_TOKEN = re.compile(r"^\d[\d.,]*$")
ANSWER_TYPES = ("when", "where", "who", "quantity", "why", "response", "other")


@dataclass(frozen=True)
class Candidate:
    """One candidate answer: a sentence of a retrieved passage (with its antecedent when it points back)."""

    hit: Hit
    span: Span  # offsets into the article, white space trimmed
    text: str
    rows: tuple[int, ...]  # sentence-vector rows of every sentence in the span
    position: int  # index of the (last) sentence in its passage
    cosine: float  # the scored sentence's cosine to the question
    coverage: float  # share of the question's idf weight found in the text (or its article's metadata)
    type_match: bool
    tokens: tuple[str, ...] = ()  # lexical tokens of the text, in order
    window: frozenset[str] = frozenset()  # lexical tokens of the text and the sentences either side


# ---------------------------------------------------------------- text measures


def term_coverage(text: str, terms: QuestionTerms, context: Collection[str] = ()) -> float:
    """Share of the question's idf weight whose terms appear in the text (or its article's metadata)."""
    return token_coverage(text_tokens(text), terms, context)


def token_coverage(tokens: Collection[str], terms: QuestionTerms, context: Collection[str] = ()) -> float:
    """`term_coverage` of text already turned into lexical tokens; a term found only through one of its
    expansion terms ("seafood" for "fish") counts EXPANSION_WEIGHT, as in retrieval."""
    if not terms.terms:
        return 0.0
    present = set(tokens) | set(context)
    expansions = terms.expansions or ((),) * len(terms.terms)
    found = 0.0
    for term, weight, alternatives in zip(terms.terms, terms.weights, expansions):
        if term in present:
            found += weight
        elif any(a in present for a in alternatives):
            found += EXPANSION_WEIGHT * weight
    return found / (terms.total_weight or 1.0)


def has_answer_type(text: str, terms: QuestionTerms) -> bool:
    """The text holds what the question type asks for (a date, place, person, number, cause), and for a date,
    place, person or number it is something the question does not already say."""
    pattern = TYPE_EVIDENCE.get(terms.answer_type)
    if pattern is None:
        return False
    if terms.answer_type in ("why", "response"):
        return bool(pattern.search(text))
    asked = set(terms.terms)
    return any(set(lexical_tokens(m.group(0))) - asked for m in pattern.finditer(text))


def novelty(tokens: Sequence[str], terms: QuestionTerms) -> float:
    """Share of the text's content words (lexical tokens) the question does not use: a sentence that only
    restates the question (an event when its response is asked) scores low."""
    if not tokens:
        return 0.0
    asked = set(terms.terms)
    return sum(t not in asked for t in tokens) / len(tokens)


def bigram_overlap(tokens: Sequence[str], question_tokens: Sequence[str]) -> float:
    """Share of the question's adjacent content-word pairs that are adjacent in the text (lexical tokens)
    too, in either order."""
    pairs = {frozenset(p) for p in zip(question_tokens, question_tokens[1:]) if p[0] != p[1]}
    if not pairs:
        return 0.0
    found = {frozenset(p) for p in zip(tokens, tokens[1:])}
    return len(pairs & found) / len(pairs)


def focus_found(tokens: Collection[str], terms: QuestionTerms) -> bool:
    """The question's focus noun, or one of its expansion terms, is among the tokens (True when it has none)."""
    if not terms.focus:
        return True
    if terms.focus in tokens:
        return True
    alternatives = dict(zip(terms.terms, terms.expansions)).get(terms.focus, ())
    return any(a in tokens for a in alternatives)


def missing_share(text_terms: Collection[str], terms: QuestionTerms, chosen: Collection[str]) -> float:
    """Share of the question's idf weight on `chosen` terms that the text lacks."""
    present = set(text_terms)
    return terms.share([t for t in chosen if t not in present])


def rarest_missing(text_terms: Collection[str], terms: QuestionTerms) -> float:
    """idf of the rarest question term the text lacks, over the idf of the rarest question term (0: none lacks)."""
    if not terms.terms:
        return 0.0
    present = set(text_terms)
    missing = [w for t, w in zip(terms.terms, terms.weights) if t not in present]
    return max(missing, default=0.0) / (max(terms.weights) or 1.0)


# ---------------------------------------------------------------- candidates


def stripped(passage: Passage, span: Span) -> Span:
    """The span without leading or trailing white space."""
    text = passage.sentence_text(span)
    start = span.start + len(text) - len(text.lstrip())
    return Span(start, max(start, span.end - (len(text) - len(text.rstrip()))))


def with_antecedent(passage: Passage, position: int) -> Span:
    """A sentence that opens by pointing back ("It was at this event …") takes the sentence before it along."""
    span = passage.sentences[position]
    if position > 0 and ANAPHORIC_START.match(passage.sentence_text(span).lstrip()):
        return Span(passage.sentences[position - 1].start, span.end)
    return span


def candidates_of(hits: Sequence[Hit], index: CorpusIndex, query_vector: np.ndarray, terms: QuestionTerms) -> list[Candidate]:
    """Every sentence of the passages that could be an answer, in passage order (each sentence stemmed once)."""
    out = []
    for hit in hits:
        passage = hit.passage
        row = passage.passage_id  # ids are rows: the build numbers passages 0, 1, 2 … (load_index checks)
        metadata = index.metadata_terms.get(hit.doc_id, frozenset())
        stems = [list(text_tokens(passage.sentence_text(s))) for s in passage.sentences]
        for position, vector_row in enumerate(index.passage_sentence_rows(row)):
            span = stripped(passage, with_antecedent(passage, position))
            text = passage.sentence_text(span)
            if len(text.split()) < MIN_CANDIDATE_WORDS:
                continue
            paired = span.start < passage.sentences[position].start
            rows = (vector_row - 1, vector_row) if paired else (vector_row,)
            tokens = tuple((stems[position - 1] if paired else []) + stems[position])
            first, last = position - len(rows), position + 1
            window = frozenset(t for i in range(max(0, first), min(len(stems), last + 1)) for t in stems[i])
            cosine = float(index.sentence_vectors[vector_row] @ query_vector)
            coverage = token_coverage(tokens, terms, metadata)
            type_match = has_answer_type(text, terms)
            out.append(Candidate(hit, span, text, rows, position, cosine, coverage, type_match, tokens, window))
    return out


# ---------------------------------------------------------------- feature vectors

SENTENCE_FEATURES = (
    "cosine",
    "cosine_gap",  # to the best candidate's cosine
    "passage_cosine",
    "coverage",
    "coverage_gap",
    "passage_coverage",
    "window_coverage",  # the sentence with its neighbours
    "bigrams",
    "type_match_typed",  # the question asks a type and the sentence has it
    "typed_question",
    "novelty",
    "previous_cosine",
    "next_cosine",
    "reciprocal_rank",
    "fused_score",
    "names_missing",  # question names and numbers the sentence lacks
    "rarest_missing",
    "first_in_passage",
    "log_words",
    "anaphoric_pair",
    "focus_found",  # the noun the question asks for (its "president") is in the sentence or beside it
    "focus_asked",
)


def sentence_feature_matrix(
    candidates: Sequence[Candidate], index: CorpusIndex, query_vector: np.ndarray, terms: QuestionTerms
) -> np.ndarray:
    """One row of SENTENCE_FEATURES per candidate."""
    if not candidates:
        return np.zeros((0, len(SENTENCE_FEATURES)), dtype=np.float64)
    best_cosine = max(c.cosine for c in candidates)
    best_coverage = max(c.coverage for c in candidates)
    typed = terms.answer_type in TYPE_EVIDENCE
    question_tokens = list(terms.terms)
    passage_cache: dict[int, tuple[float, float]] = {}
    rows = []
    for c in candidates:
        passage = c.hit.passage
        pid = passage.passage_id
        metadata = index.metadata_terms.get(c.hit.doc_id, frozenset())
        if pid not in passage_cache:
            passage_cache[pid] = (
                float(index.passage_vectors[pid] @ query_vector),
                term_coverage(passage.text, terms, metadata),
            )
        passage_cosine, passage_coverage = passage_cache[pid]
        sentence_rows = index.passage_sentence_rows(pid)
        last = c.rows[-1]
        previous_row, next_row = c.rows[0] - 1, last + 1
        previous_cosine = (
            float(index.sentence_vectors[previous_row] @ query_vector) if previous_row >= sentence_rows.start else 0.0
        )
        next_cosine = float(index.sentence_vectors[next_row] @ query_vector) if next_row < sentence_rows.stop else 0.0
        tokens = set(c.tokens) | set(metadata)
        words = len(c.text.split())
        rows.append(
            (
                c.cosine,
                c.cosine - best_cosine,
                passage_cosine,
                c.coverage,
                c.coverage - best_coverage,
                passage_coverage,
                token_coverage(c.window, terms, metadata),
                bigram_overlap(c.tokens, question_tokens),
                float(typed and c.type_match),
                float(typed),
                novelty(c.tokens, terms),
                previous_cosine,
                next_cosine,
                1.0 / c.hit.rank,
                c.hit.score,
                missing_share(tokens, terms, terms.names),
                rarest_missing(tokens, terms),
                float(c.rows[0] == sentence_rows.start),
                math.log(1 + words),
                float(len(c.rows) > 1),
                float(focus_found(c.window, terms)),
                float(bool(terms.focus)),
            )
        )
    return np.asarray(rows, dtype=np.float64)


ANSWER_FEATURES = (
    "sentence_probability",
    "runner_up_probability",
    "margin",
    "cosine",
    "passage_cosine",
    "coverage",
    "passage_coverage",
    "unknown_names",  # question names and numbers the corpus never uses
    "unknown_words",
    "names_missing_from_passages",  # names the corpus knows but the cited passages (and metadata) lack
    "names_missing_from_answer",  # the question's names and numbers the answer's sentences do not say
    "asked_terms_missing_from_passages",  # share of the question's weight the cited passages lack
    "focus_missing_from_passages",  # the noun the question asks for is nowhere in the cited passages
    "rarest_missing_from_passage",
    "type_evidence",  # for a typed question: +1 has it, -1 lacks it; 0 untyped
    "numbers_missing",
    "top_fused_score",
    "question_terms",
)


def answer_feature_vector(
    chosen: Sequence[Candidate],
    probabilities: Sequence[float],
    best_row: np.ndarray,
    terms: QuestionTerms,
    index: CorpusIndex,
    hits: Sequence[Hit],
) -> np.ndarray:
    """ANSWER_FEATURES for an answer made of the chosen candidates (best first); `probabilities` are every
    candidate's answer-sentence probabilities, `best_row` the first chosen one's sentence features."""
    ordered = sorted(probabilities, reverse=True)
    first, second = (ordered + [0.0, 0.0])[:2]
    names = SENTENCE_FEATURES
    metadata: set[str] = set()
    for c in chosen:
        metadata |= index.metadata_terms.get(c.hit.doc_id, frozenset())
    evidence = metadata.union(*(text_tokens(c.hit.text) for c in chosen))
    answer_text = " ".join(c.text for c in chosen)
    missing_names = [t for t in terms.names if t not in terms.unknown and t not in evidence]
    answer_tokens = set().union(*(c.tokens for c in chosen))
    typed = terms.answer_type in TYPE_EVIDENCE
    return np.asarray(
        (
            first,
            second,
            first - second,
            best_row[names.index("cosine")],
            best_row[names.index("passage_cosine")],
            token_coverage(answer_tokens, terms, metadata),
            best_row[names.index("passage_coverage")],
            terms.unknown_share(names=True) if terms.terms else 1.0,
            terms.unknown_share(names=False),
            terms.share(missing_names),
            missing_share(answer_tokens | metadata, terms, terms.names),
            1.0 - token_coverage(evidence, terms),
            float(bool(terms.focus) and not focus_found(evidence, terms)),
            rarest_missing(evidence, terms),
            (1.0 if has_answer_type(answer_text, terms) else -1.0) if typed else 0.0,
            float(sum(1 for t in terms.terms if NUMBER_TOKEN.match(t) and t not in answer_tokens)),
            hits[0].score if hits else 0.0,
            float(len(terms.terms)),
        ),
        dtype=np.float64,
    )
