"""The reader's composer (opt-in): the reader's best span across the retrieved passages, its sentence cited, or an
abstention. It becomes the default once its answerability beats the feature scorer's on held-out figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Collection, Sequence

import numpy as np

from rag.answer.citations import (  # citations, abstentions and limits as the feature scorer's composer has them
    ABSTENTION_TEXT,
    EMPTY_QUESTION_TEXT,
    MAX_SENTENCES,
    MAX_WORDS,
    abstention,
    build_citations,
    cited_answer,
    states_same_fact,
)
from rag.answer.features import stripped
from rag.answer.question import Question
from rag.answer.reader import Choice, PassageReading, Reader, SpanReading, choose_span, load_reader
from rag.answer.retrieval import Retriever
from rag.index.corpus_index import CorpusIndex
from rag.types import Answer, Citation, Hit, Passage, ShortAnswer, Span

SUPPORT_MARGIN = 0.0  # a further passage's span adds a sentence only when the reader prefers it to no answer there
SUPPORT_GAP = 2.0  # ... and its score is within this of the chosen span's
SHORT_ANSWER_SHARE = 0.6  # a span this much of its sentence's words is no shorter answer: shown without one
# A sentence that opens by leaning on the one before it ("Then when on …", "It was …") cannot stand first alone.
LEANING_START = re.compile(
    r"^(It|Its|This|That|These|Those|They|Their|Them|He|His|She|Her|Such|Then|Also|And|Or|So|But|However|Yet"
    r"|Thus|Therefore|Instead|Meanwhile|Later|Afterwards|Still|Moreover|Furthermore|Nevertheless|In response"
    r"|The move|The decision|The next|After that|As a result)\b"
)

Encoder = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, one row per text


@dataclass(frozen=True)
class Quote:
    """A stretch of one retrieved passage put in the answer: whole sentences, article offsets."""

    hit: Hit
    span: Span
    text: str
    sentence_rows: tuple[int, ...]  # the index's sentence rows it covers (for same-fact checks)


@dataclass(frozen=True)
class Reading:
    """One question as the composer sees it: the parsed question, the passages, the reader's view."""

    question: Question
    hits: tuple[Hit, ...]
    readings: tuple[PassageReading, ...]
    choice: Choice | None
    confidence: float

    @property
    def query(self) -> str:  # as retrieval saw it (and the reader read it)
        return self.question.query


# ---------------------------------------------------------------- reading


def read_question(
    index: CorpusIndex,
    encode: Encoder,
    reader: Reader,
    question: Question,
    top_k: int | None = None,
    doc_ids: Collection[str] | None = None,
) -> Reading:
    """Retrieve for the parsed question, read the first passages in one batch and choose the span."""
    query = question.query
    passages = top_k or reader.passages_read
    hits = tuple(Retriever(index).search(query, encode([query])[0], top_k=passages, doc_ids=doc_ids))
    readings = reader.read(query, [h.text for h in hits])
    choice = choose_span(readings, reader.rank_penalty)
    confidence = reader.confidence.probability(choice.features) if choice and reader.confidence else 0.0
    return Reading(question, hits, readings, choice, confidence)


# ---------------------------------------------------------------- from a span to sentences


def sentence_position(passage: Passage, offset: int) -> int:
    """The passage's sentence holding a character offset of the passage text (the last one when past all)."""
    absolute = passage.start + offset
    for i, span in enumerate(passage.sentences):
        if absolute < span.end:
            return i
    return max(0, len(passage.sentences) - 1)


def quote_for(hit: Hit, span: SpanReading, index: CorpusIndex) -> Quote:
    """The sentences holding a span; one that leans on the sentence before it brings that one along."""
    passage = hit.passage
    if not passage.sentences:
        return Quote(hit, Span(passage.start, passage.end), passage.text.strip(), ())
    first = sentence_position(passage, span.start)
    last = max(first, sentence_position(passage, max(span.start, span.end - 1)))
    if first > 0 and LEANING_START.match(passage.sentence_text(passage.sentences[first]).lstrip()):
        first -= 1
    whole = stripped(passage, Span(passage.sentences[first].start, passage.sentences[last].end))
    rows = index.passage_sentence_rows(passage.passage_id)
    return Quote(hit, whole, passage.sentence_text(whole), tuple(rows.start + i for i in range(first, last + 1)))


def same_fact(a: Quote, b: Quote, index: CorpusIndex) -> bool:
    return states_same_fact(a.sentence_rows, b.sentence_rows, a.text.lower().split(), b.text.lower().split(), index)


def overlaps(a: Quote, b: Quote) -> bool:
    return a.hit.doc_id == b.hit.doc_id and a.span.start < b.span.end and b.span.start < a.span.end


def supporting_spans(reading: Reading) -> list[SpanReading]:
    """Other passages' best spans that the reader also prefers to no answer, nearly as strong as the chosen."""
    chosen = reading.choice.span
    out = []
    for r in reading.readings:
        if r.passage == chosen.passage or not r.spans:
            continue
        best = r.spans[0]
        if best.score - r.null_score > SUPPORT_MARGIN and best.score >= chosen.score - SUPPORT_GAP:
            out.append(best)
    return sorted(out, key=lambda s: (-s.score, s.passage))


def quote_groups(reading: Reading, index: CorpusIndex, max_words: int = MAX_WORDS) -> list[list[Quote]]:
    """The chosen span's sentences first; a supporting span's sentences after, or as another citation of the
    first when they state the same fact in another article; within max_words."""
    first = quote_for(reading.hits[reading.choice.span.passage], reading.choice.span, index)
    groups = [[trim_to_words(first, max_words)]]
    words = len(groups[0][0].text.split())
    for span in supporting_spans(reading):
        quote = quote_for(reading.hits[span.passage], span, index)
        if any(overlaps(quote, q) for g in groups for q in g):
            continue
        group = next((g for g in groups if same_fact(quote, g[0], index)), None)
        if group is not None:
            if all(q.hit.doc_id != quote.hit.doc_id for q in group):
                group.append(quote)
            continue
        n = len(quote.text.split())
        if len(groups) < MAX_SENTENCES and words + n <= max_words:
            groups.append([quote])
            words += n
    return groups


def trim_to_words(quote: Quote, max_words: int) -> Quote:
    """Cut an over-long stretch to a contiguous run of its first `max_words` words."""
    words = list(re.finditer(r"\S+", quote.text))
    if len(words) <= max_words:
        return quote
    span = Span(quote.span.start, quote.span.start + words[max_words - 1].end())
    return Quote(quote.hit, span, quote.hit.passage.sentence_text(span), quote.sentence_rows)


# ---------------------------------------------------------------- the short answer


def short_answer_of(reading: Reading, first: Quote, text: str, citations: Sequence[Citation]) -> ShortAnswer | None:
    """The reader's span, located in its citation and in the answer text; none when it is (nearly) the
    whole sentence, which would say nothing shorter."""
    span = reading.choice.span
    hit = reading.hits[span.passage]
    phrase = hit.text[span.start : span.end].strip(" ,;:")
    if not phrase or len(phrase.split()) >= SHORT_ANSWER_SHARE * len(first.text.split()):
        return None
    start = hit.text.find(phrase, span.start)
    in_answer = text.find(phrase, 0, len(first.text) + 1)
    if start < 0 or in_answer < 0:
        return None
    citation = next(c for c in citations if c.doc_id == hit.doc_id and c.paragraph == hit.paragraph and c.text == hit.text)
    return ShortAnswer(
        text=phrase,
        citation=citation.number,
        start=start,
        end=start + len(phrase),
        answer_start=in_answer,
        answer_end=in_answer + len(phrase),
        score=round(span.score, 3),
    )


# ---------------------------------------------------------------- deciding


def compose_reader_answer(
    index: CorpusIndex,
    encode: Encoder,
    question: Question,
    top_k: int | None = None,
    doc_ids: Collection[str] | None = None,
    reader: Reader | None = None,
    min_confidence: float | None = None,
) -> Answer:
    """The whole answer step for a parsed question: retrieve, read, cite or abstain.

    The reader reads the first `top_k` passages (default: as many as chosen on the validation pair). The
    answer is given when its confidence (the calibrated probability that it is right) reaches
    `min_confidence` (default: the reader's operating point)."""
    if not question.text:
        return abstention(question, EMPTY_QUESTION_TEXT)
    reader = reader or load_reader()
    threshold = reader.min_confidence if min_confidence is None else min_confidence
    reading = read_question(index, encode, reader, question, top_k, doc_ids)
    if reading.choice is None:
        return abstention(question, ABSTENTION_TEXT, reading.hits)
    features = reading.choice.features
    notes = tuple(f"{name}={value:.3f}" for name, value in features.items())
    if reading.confidence < threshold:
        return abstention(question, ABSTENTION_TEXT, reading.hits, reading.confidence, notes)
    groups = quote_groups(reading, index)
    text, citations = build_citations(groups, index)
    short = short_answer_of(reading, groups[0][0], text, citations)
    return cited_answer(question, text, citations, reading.confidence, reading.hits, notes, short)
