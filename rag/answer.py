"""Answer composer: picks verbatim sentences from retrieved passages, cites them, or abstains."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable, Collection, Sequence

import numpy as np

from rag.indexer import CorpusIndex
from rag.question import (
    QuestionTerms,
    clean_question,
    merge_terms,
    resolve_follow_up,
    salient_terms,
)
from rag.retrieval import Retriever, expand_acronyms
from rag.store import lexical_tokens
from rag.types import Answer, Citation, Hit, Span

MAX_WORDS = 120
MAX_SENTENCES = 3
COMPOSER_PASSAGES = 8  # sentences are drawn from this many of the best passages
ABSTAIN_BELOW = 0.5  # confidence under which the composer abstains
SAME_FACT_COSINE = 0.88  # two sentences this close state the same fact: one sentence, both citations
REDUNDANT_COSINE = 0.75  # a further sentence this close to a chosen one adds nothing
FURTHER_SENTENCE_SHARE = 0.9  # a second or third sentence must score this share of the best one
ABSTENTION_TEXT = "I could not find an answer to that in the articles."
EMPTY_QUESTION_TEXT = "Please ask a question about the articles."

ANAPHORIC_START = re.compile(r"^(It|This|That|These|Those|They|He|She|Such|The move|The decision)\b")

MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
WEEKDAY = r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
# What an answer of each type looks like: a date, a place after a preposition, a name or role, a number, a cause.
TYPE_EVIDENCE = {
    "when": re.compile(rf"\b(1[89]\d\d|20\d\d)s?\b|\b{MONTH}\b|\b{WEEKDAY}\b|\b(ago|last (year|month|week))\b"),
    "where": re.compile(r"\b(in|at|to|from|near|on the sidelines of)\s+(the\s+)?[A-Z][\w-]+"),
    "who": re.compile(
        r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b"
        r"|\b(President|Minister|Secretary|Premier|analyst|official|spokesperson|Councillor)\b"
    ),
    "quantity": re.compile(
        r"\d|\b(million|billion|trillion|hundred|thousand|dozen|per ?cent|half|third|quarter)\b", re.I
    ),
    "why": re.compile(
        r"\b(because|due to|following|after|over|amid|as a result|in response|prompted|led to|caused|reason|since"
        r"|decision to|owing to|fear|concern)\b",
        re.I,
    ),
}
NUMBER_TOKEN = re.compile(r"^\d[\d.,]*$")


# ---------------------------------------------------------------- scoring sentences


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, scored against the question."""

    hit: Hit
    span: Span
    text: str
    vector_row: int  # the sentence scored (the last one when an antecedent was taken along)
    rows: tuple[int, ...]  # the vectors of every sentence in the span
    cosine: float
    coverage: float
    type_match: bool
    score: float


def term_coverage(text: str, terms: QuestionTerms, context: Collection[str] = ()) -> float:
    """Share of the question's idf weight whose terms appear in the text (or its article's metadata)."""
    if not terms.terms:
        return 0.0
    present = set(lexical_tokens(text)) | set(context)
    return sum(w for t, w in zip(terms.terms, terms.weights) if t in present) / (terms.total_weight or 1.0)


def sentence_score(cosine: float, coverage: float, passage_coverage: float, type_match: bool, rank: int) -> float:
    """Linear blend: meaning (cosine), the question's words here and in the passage, answer type, rank."""
    return 0.55 * cosine + 0.25 * coverage + 0.1 * passage_coverage + 0.08 * type_match + 0.04 / rank


def has_answer_type(text: str, terms: QuestionTerms) -> bool:
    """The text holds what the question type asks for (a date, place, person, number, cause), and for a date,
    place, person or number it is something the question does not already say."""
    pattern = TYPE_EVIDENCE.get(terms.answer_type)
    if pattern is None:
        return False
    if terms.answer_type == "why":
        return bool(pattern.search(text))
    asked = set(terms.terms)
    return any(set(lexical_tokens(m.group(0))) - asked for m in pattern.finditer(text))


def stripped(passage, span: Span) -> Span:
    """The span without leading or trailing white space."""
    text = passage.sentence_text(span)
    start = span.start + len(text) - len(text.lstrip())
    return Span(start, max(start, span.end - (len(text) - len(text.rstrip()))))


def with_antecedent(passage, index_in_passage: int) -> Span:
    """A sentence that opens by pointing back ("It was at this event …") takes the sentence before it along."""
    span = passage.sentences[index_in_passage]
    if index_in_passage > 0 and ANAPHORIC_START.match(passage.sentence_text(span).lstrip()):
        return Span(passage.sentences[index_in_passage - 1].start, span.end)
    return span


def score_candidates(hits: Sequence[Hit], index, query_vector: np.ndarray, terms: QuestionTerms) -> list[Candidate]:
    out = []
    for hit in hits:
        row = hit.passage.passage_id  # ids are rows: the build numbers passages 0, 1, 2 … (load_index checks)
        metadata = index.metadata_terms.get(hit.doc_id, frozenset())
        passage_coverage = term_coverage(hit.text, terms, metadata)
        for i, vector_row in enumerate(index.passage_sentence_rows(row)):
            span = stripped(hit.passage, with_antecedent(hit.passage, i))
            text = hit.passage.sentence_text(span)
            if len(text.split()) < 4:
                continue
            rows = (vector_row - 1, vector_row) if span.start < hit.passage.sentences[i].start else (vector_row,)
            cosine = float(index.sentence_vectors[vector_row] @ query_vector)
            coverage = term_coverage(text, terms, metadata)
            type_match = has_answer_type(text, terms)
            score = sentence_score(cosine, coverage, passage_coverage, type_match, hit.rank)
            out.append(Candidate(hit, span, text, vector_row, rows, cosine, coverage, type_match, score))
    return sorted(out, key=lambda c: -c.score)


# ---------------------------------------------------------------- confidence


def confidence_of(best: Candidate, terms: QuestionTerms, answer_text: str, evidence_terms: Collection[str]) -> float:
    """A logistic blend of the evidence: best cosine, term coverage, answer type, and what the corpus lacks.

    The weights were set by hand to put the boundary (0.5) where a sentence is plausibly on topic and names
    most of what the question asks about. A name or number the corpus never mentions ("France", "2025") weighs
    more than another unknown word ("respond"); a name the corpus knows but the cited passages (and their
    articles' metadata, `evidence_terms`) never mention ("Tokyo" for a question on Tokyo's population) counts
    against too, and numbers in the question should appear in the answer.
    """
    coverage = term_coverage(answer_text, terms, evidence_terms)
    missing_names = [t for t in terms.names if t not in terms.unknown and t not in evidence_terms]
    z = (
        9.0 * (best.cosine - 0.42)
        + 4.0 * (coverage - 0.45)
        - 6.0 * terms.unknown_share(names=True)
        - 2.5 * terms.unknown_share(names=False)
        - 4.0 * terms.share(missing_names)
    )
    if terms.answer_type in TYPE_EVIDENCE:
        z += 0.8 if has_answer_type(answer_text, terms) else -1.5
    answer_tokens = set(lexical_tokens(answer_text))
    missing_numbers = [t for t in terms.terms if NUMBER_TOKEN.match(t) and t not in answer_tokens]
    z -= 1.5 * len(missing_numbers)
    return 1.0 / (1.0 + math.exp(-z))


# ---------------------------------------------------------------- selection and citations


def closeness(a: Candidate, b: Candidate, index) -> float:
    """The highest cosine between a sentence of one candidate and a sentence of the other."""
    return float(np.max(index.sentence_vectors[list(a.rows)] @ index.sentence_vectors[list(b.rows)].T))


def same_fact(a: Candidate, b: Candidate, index) -> bool:
    if closeness(a, b, index) >= SAME_FACT_COSINE:
        return True
    ta, tb = set(lexical_tokens(a.text)), set(lexical_tokens(b.text))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= 0.6


def overlaps(a: Candidate, b: Candidate) -> bool:
    same_passage = a.hit.passage.passage_id == b.hit.passage.passage_id
    return same_passage and a.span.start < b.span.end and b.span.start < a.span.end


def select_sentences(candidates: list[Candidate], index, max_words: int = MAX_WORDS) -> list[list[Candidate]]:
    """Up to three sentences, best first, each with the other sentences stating the same fact (MMR-style)."""
    if not candidates:
        return []
    best = candidates[0]
    chosen: list[list[Candidate]] = []
    words = 0
    for cand in candidates:
        if len(chosen) == MAX_SENTENCES:
            break
        if any(overlaps(cand, c) for group in chosen for c in group):
            continue
        if any(same_fact(cand, group[0], index) for group in chosen):
            group = next(g for g in chosen if same_fact(cand, g[0], index))
            if all(c.hit.doc_id != cand.hit.doc_id for c in group):
                group.append(cand)
            continue
        n = len(cand.text.split())
        if chosen:
            redundant = max(closeness(cand, g[0], index) for g in chosen)
            # a further sentence must be nearly as good as the best and add something new
            weak = cand.score < FURTHER_SENTENCE_SHARE * best.score or cand.coverage < 0.3
            if weak or redundant >= REDUNDANT_COSINE:
                continue
        if words + n > max_words:
            if chosen:
                continue
            cand = trim_to_words(cand, max_words)
            n = len(cand.text.split())
        chosen.append([cand])
        words += n
    return chosen


def trim_to_words(candidate: Candidate, max_words: int) -> Candidate:
    """Cut an over-long sentence to a contiguous stretch of its first `max_words` words."""
    words = list(re.finditer(r"\S+", candidate.text))[:max_words]
    end = candidate.span.start + (words[-1].end() if words else len(candidate.text))
    span = Span(candidate.span.start, end)
    return replace(candidate, span=span, text=candidate.hit.passage.sentence_text(span))


def build_citations(groups: list[list[Candidate]], index) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with [n] markers after each sentence, and citations numbered in order of first use."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[Candidate]] = {}
    parts = []
    for group in groups:
        markers = []
        for cand in group:
            pid = cand.hit.passage.passage_id
            if pid not in numbers:
                numbers[pid] = len(numbers) + 1
                quotes[pid] = []
            quotes[pid].append(cand)
            markers.append(f"[{numbers[pid]}]")
        parts.append(f"{group[0].text} {''.join(dict.fromkeys(markers))}")
    citations = []
    for pid, number in numbers.items():
        used = sorted(quotes[pid], key=lambda c: c.span.start)
        hit = used[0].hit
        citations.append(
            Citation(
                number=number,
                doc_id=hit.doc_id,
                title=hit.title,
                url=hit.url,
                paragraph=hit.paragraph,
                text=hit.text,
                quote=" … ".join(c.text for c in used),
                score=hit.score,
                spans=tuple(c.span for c in used),
                page=index.articles[hit.doc_id].page_at(used[0].span.start),
            )
        )
    return " ".join(parts), tuple(citations)


def abstention(question: str, message: str, hits: Sequence[Hit], confidence: float, query: str, notes=()) -> Answer:
    return Answer(
        question=question,
        text=message,
        abstained=True,
        confidence=round(confidence, 3),
        passages=tuple(hits),
        retrieval_query=query,
        notes=tuple(notes),
    )


Encoder = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, one row per text


def compose_answer(
    index: CorpusIndex,
    encode: Encoder,
    question: str,
    history: Sequence[str] = (),
    top_k: int = 5,
    doc_ids: Collection[str] | None = None,
) -> Answer:
    """The whole answer step: resolve a follow-up, retrieve, score sentences, select, cite or abstain."""
    question = clean_question(question)
    if not question:
        return abstention(question, EMPTY_QUESTION_TEXT, (), 0.0, "")
    history = [h for h in map(clean_question, history) if h]
    query = expand_acronyms(resolve_follow_up(question, history, index.lexical), index.acronyms)
    metadata_vocabulary = index.metadata_vocabulary
    terms = salient_terms(question, index.lexical, metadata_vocabulary)
    if query == expand_acronyms(question, index.acronyms):
        query_vector = sentence_vector = encode([query])[0]
    else:  # a follow-up: retrieve with the conversation, but rank sentences for what is asked now
        query_vector, question_vector = encode([query, question])
        sentence_vector = (query_vector + question_vector) / 2
        terms = merge_terms(terms, salient_terms(query, index.lexical, metadata_vocabulary))
    hits = Retriever(index).search(query, query_vector, top_k=max(top_k, COMPOSER_PASSAGES), doc_ids=doc_ids)
    shown = hits[:top_k]
    candidates = score_candidates(hits, index, sentence_vector, terms)
    groups = select_sentences(candidates, index)
    if not groups:
        return abstention(question, ABSTENTION_TEXT, shown, 0.0, query)
    text, citations = build_citations(groups, index)
    cited = [c for group in groups for c in group]
    evidence_terms = frozenset().union(
        *(set(lexical_tokens(c.hit.text)) | index.metadata_terms.get(c.hit.doc_id, frozenset()) for c in cited)
    )
    confidence = confidence_of(groups[0][0], terms, " ".join(g[0].text for g in groups), evidence_terms)
    notes = (f"type={terms.answer_type}", f"best_cosine={groups[0][0].cosine:.3f}", f"unknown={terms.unknown}")
    if confidence < ABSTAIN_BELOW:
        return abstention(question, ABSTENTION_TEXT, shown, confidence, query, notes)
    return Answer(
        question=question,
        text=text,
        abstained=False,
        confidence=round(confidence, 3),
        citations=citations,
        passages=tuple(shown),
        retrieval_query=query,
        notes=notes,
    )


# ---------------------------------------------------------------- checking grounding


def grounding_problems(answer: Answer) -> list[str]:
    """Every stretch before a marker group must appear verbatim (white space aside) in a passage it cites."""
    if answer.abstained:
        return []
    by_number = {c.number: c for c in answer.citations}
    problems = []
    pieces = re.split(r"((?:\[\d+\])+)", answer.text)
    if pieces and pieces[-1].strip():
        problems.append(f"uncited text after the last marker: {pieces[-1].strip()[:60]!r}")
    for stretch, markers in zip(pieces[0::2], pieces[1::2]):
        stretch = " ".join(stretch.split())
        cited = [by_number.get(int(n)) for n in re.findall(r"\d+", markers)]
        if not stretch:
            problems.append(f"marker {markers} cites nothing")
        elif not any(c and stretch in " ".join(c.text.split()) for c in cited):
            problems.append(f"not found in cited passages {markers}: {stretch[:60]!r}")
    return problems
