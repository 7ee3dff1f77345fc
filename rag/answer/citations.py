"""Citations and abstentions, as both composers give them: quotes to cited answer text, the same fact stated once, the limits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Collection, Sequence

import numpy as np

from rag.answer.question import Question
from rag.index.corpus_index import CorpusIndex
from rag.types import Answer, Citation, Hit, ShortAnswer

if TYPE_CHECKING:  # either composer's quotes: the feature scorer's Candidate or the reader's Quote
    from rag.answer.features import Candidate

MAX_WORDS = 120
MAX_SENTENCES = 3
SAME_FACT_COSINE = 0.88  # two sentences this close state the same fact: one sentence, both citations
SAME_FACT_OVERLAP = 0.6  # ... as do two stretches sharing this share of their words (Jaccard)
ABSTENTION_TEXT = "I could not find an answer to that in the articles."
EMPTY_QUESTION_TEXT = "Please ask a question about the articles."


def rows_closeness(rows_a: Sequence[int], rows_b: Sequence[int], index: CorpusIndex) -> float:
    """The highest cosine between a sentence of one set of index rows and a sentence of the other."""
    return float(np.max(index.sentence_vectors[list(rows_a)] @ index.sentence_vectors[list(rows_b)].T))


def states_same_fact(
    rows_a: Sequence[int], rows_b: Sequence[int], words_a: Collection[str], words_b: Collection[str], index: CorpusIndex
) -> bool:
    """Two stretches state the same fact: a sentence of one is this close to a sentence of the other (by their
    index rows), or their words mostly coincide. Both composers merge such stretches into one citation."""
    if rows_a and rows_b and rows_closeness(rows_a, rows_b, index) >= SAME_FACT_COSINE:
        return True
    ta, tb = set(words_a), set(words_b)
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= SAME_FACT_OVERLAP


def build_citations(groups: Sequence[Sequence[Candidate]], index: CorpusIndex) -> tuple[str, tuple[Citation, ...]]:
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


def abstention(question: Question, message: str, hits: Sequence[Hit] = (), confidence: float = 0.0, notes=()) -> Answer:
    """No answer: `message`, with the passages searched and the confidence the best candidate had."""
    return Answer(
        question=question.text,
        text=message,
        abstained=True,
        confidence=round(confidence, 3),
        passages=tuple(hits),
        retrieval_query=question.query,
        notes=tuple(notes),
    )


def cited_answer(
    question: Question,
    text: str,
    citations: tuple[Citation, ...],
    confidence: float,
    hits: Sequence[Hit],
    notes: Sequence[str],
    short_answer: ShortAnswer | None,
) -> Answer:
    """An answer: `text` with its markers, the citations `build_citations` made for it, and what it rests on."""
    return Answer(
        question=question.text,
        text=text,
        abstained=False,
        confidence=round(confidence, 3),
        citations=citations,
        passages=tuple(hits),
        retrieval_query=question.query,
        notes=tuple(notes),
        short_answer=short_answer,
    )


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
