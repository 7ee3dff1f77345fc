"""Answer composer: scores the sentences of retrieved passages with the fitted models, cites them, or abstains."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Collection, Sequence

import numpy as np

from rag.answer.citations import (
    ABSTENTION_TEXT,
    EMPTY_QUESTION_TEXT,
    MAX_SENTENCES,
    MAX_WORDS,
    abstention,
    build_citations,
    cited_answer,
    rows_closeness,
    states_same_fact,
)
from rag.answer.features import (
    ANSWER_FEATURES,
    SENTENCE_FEATURES,
    TYPE_EVIDENCE,
    Candidate,
    answer_feature_vector,
    candidates_of,
    focus_found,
    sentence_feature_matrix,
)
from rag.answer.question import Question, QuestionTerms
from rag.answer.retrieval import Retriever
from rag.answer.scoring import Scorer, load_scorer
from rag.answer.short_answer import find_short_answer
from rag.index.corpus_index import CorpusIndex
from rag.index.tokens import text_tokens
from rag.types import Answer, Hit, Span

REDUNDANT_COSINE = 0.75  # a further sentence this close to a chosen one adds nothing
TYPED_LEAD_SHARE = 0.25  # see lead_with_asked_type

Encoder = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, one row per text


@dataclass(frozen=True)
class Evidence:
    """What the composer knows about one question before deciding: the question, passages and scored sentences."""

    question: Question
    hits: tuple[Hit, ...]
    candidates: tuple[Candidate, ...]
    features: np.ndarray  # one row of SENTENCE_FEATURES per candidate

    @property
    def query(self) -> str:  # as retrieval saw it (with the conversation, acronyms expanded)
        return self.question.query

    @property
    def terms(self) -> QuestionTerms:
        return self.question.terms


@dataclass(frozen=True)
class Scored:
    """A candidate with the fitted probability that it holds the answer."""

    candidate: Candidate
    probability: float
    row: int  # its row in Evidence.features


# ---------------------------------------------------------------- gathering evidence


def gather_evidence(
    index: CorpusIndex,
    encode: Encoder,
    question: Question,
    top_k: int = 5,
    doc_ids: Collection[str] | None = None,
) -> Evidence:
    """Retrieve `top_k` passages for the parsed question and compute every candidate sentence's features."""
    query, terms = question.query, question.terms
    if question.follow_up:  # retrieve with the conversation, but rank sentences for what is asked now
        query_vector, question_vector = encode([query, question.text])
        sentence_vector = (query_vector + question_vector) / 2
    else:
        query_vector = sentence_vector = encode([query])[0]
    hits = tuple(Retriever(index).search(query, query_vector, top_k=top_k, doc_ids=doc_ids))
    candidates = tuple(candidates_of(hits, index, sentence_vector, terms))
    features = sentence_feature_matrix(candidates, index, sentence_vector, terms)
    return Evidence(question, hits, candidates, features)


def score_sentences(evidence: Evidence, scorer: Scorer) -> list[Scored]:
    """Candidates with their answer-sentence probability, most likely first (ties: passage order), the asked
    type leading (see `lead_with_asked_type`)."""
    probabilities = scorer.sentence.probabilities_in(evidence.features, SENTENCE_FEATURES) if evidence.candidates else []
    return rank_candidates(evidence, probabilities)


def rank_candidates(evidence: Evidence, probabilities: Sequence[float]) -> list[Scored]:
    """The candidates with their probabilities, in the order the composer considers them."""
    scored = [Scored(c, float(p), i) for i, (c, p) in enumerate(zip(evidence.candidates, probabilities))]
    return lead_with_asked_type(sorted(scored, key=lambda s: (-s.probability, s.row)), evidence.terms)


def lead_with_asked_type(scored: Sequence[Scored], terms: QuestionTerms) -> list[Scored]:
    """A question that asks for a date, place, person, number, cause or response is not answered first by a
    sentence that holds none, while one that holds it is at least TYPED_LEAD_SHARE as likely: the likelier
    sentence then usually restates the question ("How did Japan respond to the ban?" -> the ban itself)."""
    if terms.answer_type not in TYPE_EVIDENCE or not scored:
        return list(scored)
    floor = TYPED_LEAD_SHARE * scored[0].probability
    typed = next((s for s in scored if s.candidate.type_match and s.probability >= floor), None)
    if typed is None or typed is scored[0]:
        return list(scored)
    return [typed] + [s for s in scored if s is not typed]


# ---------------------------------------------------------------- selection


def closeness(a: Candidate, b: Candidate, index: CorpusIndex) -> float:
    return rows_closeness(a.rows, b.rows, index)


def same_fact(a: Candidate, b: Candidate, index: CorpusIndex) -> bool:
    return states_same_fact(a.rows, b.rows, a.tokens, b.tokens, index)


def overlaps(a: Candidate, b: Candidate) -> bool:
    same_passage = a.hit.passage.passage_id == b.hit.passage.passage_id
    return same_passage and a.span.start < b.span.end and b.span.start < a.span.end


def select_sentences(
    scored: Sequence[Scored], index: CorpusIndex, min_support: float, max_words: int = MAX_WORDS
) -> list[list[Scored]]:
    """The most likely sentence first; further sentences only when they are themselves likely to answer
    (probability >= min_support) and say something new; each with other sentences stating the same fact."""
    chosen: list[list[Scored]] = []
    words = 0
    for s in scored:
        cand = s.candidate
        if any(overlaps(cand, c.candidate) for group in chosen for c in group):
            continue
        group = next((g for g in chosen if same_fact(cand, g[0].candidate, index)), None)
        if group is not None:  # the same fact in another article: one more citation, however likely
            if all(c.candidate.hit.doc_id != cand.hit.doc_id for c in group):
                group.append(s)
            continue
        if len(chosen) == MAX_SENTENCES or (chosen and s.probability < min_support):
            continue
        if chosen and max(closeness(cand, g[0].candidate, index) for g in chosen) >= REDUNDANT_COSINE:
            continue
        n = len(cand.text.split())
        if words + n > max_words:
            if chosen:
                continue
            s = replace(s, candidate=trim_to_words(cand, max_words))
            n = len(s.candidate.text.split())
        chosen.append([s])
        words += n
    return chosen


def trim_to_words(candidate: Candidate, max_words: int) -> Candidate:
    """Cut an over-long sentence to a contiguous stretch of its first `max_words` words."""
    words = list(re.finditer(r"\S+", candidate.text))[:max_words]
    end = candidate.span.start + (words[-1].end() if words else len(candidate.text))
    span = Span(candidate.span.start, end)
    return replace(candidate, span=span, text=candidate.hit.passage.sentence_text(span))


# ---------------------------------------------------------------- citations


# ---------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Draft:
    """The answer the composer would give, before the confidence decides whether to give it."""

    groups: tuple[tuple[Scored, ...], ...]
    confidence: float


def draft_answer(evidence: Evidence, scored: Sequence[Scored], index: CorpusIndex, scorer: Scorer) -> Draft | None:
    """Pick the sentences and compute the calibrated probability that the answer they make is right."""
    groups = select_sentences(scored, index, scorer.min_support)
    if not groups:
        return None
    chosen = [g[0].candidate for g in groups]
    best = groups[0][0]
    row = answer_feature_vector(
        chosen, [s.probability for s in scored], evidence.features[best.row], evidence.terms, index, evidence.hits
    )
    confidence = float(scorer.answerable.probabilities_in(row, ANSWER_FEATURES)[0])
    return Draft(tuple(tuple(g) for g in groups), confidence)


def names_no_one(draft: Draft, terms: QuestionTerms, index: CorpusIndex) -> bool:
    """A "who is the <role> of …" question whose role ("president") no cited passage, nor its article's
    metadata, mentions: the articles name no such person, whatever else they say about the subject. (In the
    labelled questions no answerable who-question lacks its role noun in the passage that answers it.)"""
    if terms.answer_type != "who" or not terms.focus:
        return False
    cited = {s.candidate.hit.passage.passage_id: s.candidate.hit for group in draft.groups for s in group}
    tokens = set().union(*(text_tokens(h.text) for h in cited.values()))
    tokens |= set().union(*(index.metadata_terms.get(h.doc_id, frozenset()) for h in cited.values()))
    return not focus_found(tokens, terms)


def compose_answer(
    index: CorpusIndex,
    encode: Encoder,
    question: Question,
    top_k: int = 5,
    doc_ids: Collection[str] | None = None,
    scorer: Scorer | None = None,
    min_confidence: float | None = None,
) -> Answer:
    """The whole answer step for a parsed question: retrieve, score sentences, select, cite or abstain.

    The answer is drawn from the first `top_k` passages only. It is given when its confidence (the calibrated
    probability that it is right) reaches `min_confidence` (default: the scorer's documented operating point)."""
    if not question.text:
        return abstention(question, EMPTY_QUESTION_TEXT)
    scorer = scorer or load_scorer()
    threshold = scorer.min_confidence if min_confidence is None else min_confidence
    evidence = gather_evidence(index, encode, question, top_k, doc_ids)
    scored = score_sentences(evidence, scorer)
    draft = draft_answer(evidence, scored, index, scorer)
    if draft is None:
        return abstention(question, ABSTENTION_TEXT, evidence.hits)
    best = draft.groups[0][0]
    notes = (
        f"type={evidence.terms.answer_type}",
        f"sentence_probability={best.probability:.3f}",
        f"best_cosine={best.candidate.cosine:.3f}",
        f"unknown={evidence.terms.unknown}",
    )
    if draft.confidence < threshold or names_no_one(draft, evidence.terms, index):
        return abstention(question, ABSTENTION_TEXT, evidence.hits, draft.confidence, notes)
    text, citations = build_citations([[s.candidate for s in g] for g in draft.groups], index)
    short = find_short_answer(best.candidate, question, scorer, citations, text)
    return cited_answer(question, text, citations, draft.confidence, evidence.hits, notes, short)


# ---------------------------------------------------------------- checking grounding


