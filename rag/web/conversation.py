"""The conversation as the chat shows it: turns, answer text with citation links and a bold short answer, sources."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from rag.types import Answer, Article, Citation, Hit
from rag.web.filters import Filters
from rag.web.markup import DOT, render, safe_external_url, with_quote

NO_ARTICLE_MATCHES = "No article matches the article and date filters; widen them and ask again."
ANSWER_FAILED = "Sorry, something went wrong while answering. The details are in the server log."
MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")  # [1], [1, 3]


@dataclass(frozen=True)
class Turn:
    """One question and what came back: an answer (or abstention), a notice, or nothing yet (pending).

    A turn without a question is a message of the page itself (an article added or removed)."""

    question: str
    answer: Answer | None = None
    notice: str = ""
    error: bool = False
    info: bool = False  # a notice that reports success (an article added) rather than a problem
    notes: tuple[str, ...] = ()  # how the question was read: cut to length, passages clamped
    filters: Filters = field(default_factory=Filters)

    @property
    def status(self) -> str:
        if self.notice:
            return "error" if self.error else "info" if self.info else "notice"
        if self.answer is None:
            return "pending"
        return "abstained" if self.answer.abstained else "answered"


@dataclass(frozen=True)
class Source:
    """A source card: a cited passage, or (after an abstention) a related one, which is not an answer."""

    number: int
    title: str
    paragraph: int
    view_url: str  # the article view at the paragraph, with the quote to highlight
    text: str
    quote: str
    byline: str
    original_url: str  # the publisher's page, only when it is http(s)
    page: int | None = None  # the PDF page the paragraph starts on

    @property
    def place(self) -> str:
        return f"page {self.page}, paragraph {self.paragraph}" if self.page else f"paragraph {self.paragraph}"

    @property
    def name(self) -> str:
        """What a citation link is called: "Source 1: <title>, paragraph 12"."""
        return f"Source {self.number}: {self.title}, {self.place}"


@dataclass(frozen=True)
class Segment:
    """A stretch of answer text (bold when it is the short answer), or a marker: links to its sources, after
    `text`, the word the marker follows (so that the two stay on one line)."""

    text: str = ""
    strong: bool = False
    sources: tuple[Source, ...] = ()


def byline(article: Article | None) -> str:
    if article is None:
        return ""
    return DOT.join(x for x in (", ".join(article.authors), article.publisher, article.date) if x)


def source_of(number: int, doc_id: str, title: str, paragraph: int, url: str, text: str, quote: str, articles):
    article = articles.get(doc_id)
    original = safe_external_url(article.url) if article is not None else ""
    page = article.page_of(paragraph) if article is not None else None
    return Source(number, title, paragraph, with_quote(url, quote), text, quote, byline(article), original, page)


def citation_source(c: Citation, articles: Mapping[str, Article]) -> Source:
    return source_of(c.number, c.doc_id, c.title, c.paragraph, c.url, c.text, c.quote, articles)


def hit_source(number: int, h: Hit, articles: Mapping[str, Article]) -> Source:
    return source_of(number, h.doc_id, h.title, h.paragraph, h.url, h.text, "", articles)


def bold_range(answer: Answer) -> tuple[int, int] | None:
    """Where the short answer sits in the answer text, if it is there exactly as stated."""
    short = answer.short_answer
    if short is None or not 0 <= short.answer_start < short.answer_end <= len(answer.text):
        return None
    if answer.text[short.answer_start : short.answer_end] != short.text:
        return None
    return short.answer_start, short.answer_end


def text_segments(text: str, start: int, bold: tuple[int, int] | None) -> list[Segment]:
    """text (which starts at `start` in the answer) cut where the bold short answer begins and ends."""
    if bold is None:
        return [Segment(text)] if text else []
    end = start + len(text)
    cuts = sorted({start, end, *(min(max(b, start), end) for b in bold)})
    pieces = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
    return [Segment(text[a - start : b - start], strong=bold[0] <= a and b <= bold[1]) for a, b in pieces]


def glued(segments: list[Segment], cited: tuple[Source, ...]) -> list[Segment]:
    """The marker for `cited`, with the last word before it: kept on one line, a marker never starts a line."""
    last = segments[-1] if segments else None
    if last is None or last.strong or last.sources or not last.text.strip():
        return [*segments, Segment(sources=cited)]
    head, space, word = last.text.rstrip().rpartition(" ")
    tail = last.text[len(last.text.rstrip()) :]
    kept = [Segment(head + space)] if head or space else []
    return [*segments[:-1], *kept, Segment(text=word + tail, sources=cited)]


def answer_segments(answer: Answer, sources: Mapping[int, Source]) -> list[Segment]:
    """The answer text with each [n] or [n, m] marker that names citations turned into links to them.

    Adjacent markers ("[1][2]") become one group, so that their links stay together on a line."""
    text, bold = answer.text, bold_range(answer)
    segments: list[Segment] = []
    pos = 0
    for match in MARKERS.finditer(text):
        cited = [sources.get(int(n)) for n in match.group(1).split(",")]
        if not all(cited):
            continue  # a marker naming no citation stays text
        between = text[pos : match.start()]
        if segments and segments[-1].sources and not between.strip():
            segments[-1] = replace(segments[-1], sources=segments[-1].sources + tuple(cited))
        else:
            segments = glued(segments + text_segments(between, pos, bold), tuple(cited))
        pos = match.end()
    return segments + text_segments(text[pos:], pos, bold)


def abstention_sentence(filters: Filters) -> str:
    if filters.active:
        return f"No answer was found with the filters on ({filters.describe()})."
    return "No answer was found in the articles."


@dataclass(frozen=True)
class TurnView:
    """What the template needs for one turn."""

    turn: Turn
    segments: tuple[Segment, ...] = ()
    sources: tuple[Source, ...] = ()
    message: str = ""  # the one sentence of an abstention or a notice

    @property
    def status(self) -> str:
        return self.turn.status

    @property
    def confidence(self) -> str:
        answer = self.turn.answer
        # floored: 0.995 reads "99%", never a certainty the composer did not state
        return f"{math.floor(answer.confidence * 100)}%" if answer is not None else ""


def turn_view(turn: Turn, articles: Mapping[str, Article]) -> TurnView:
    answer = turn.answer
    if turn.notice or answer is None:
        return TurnView(turn, message=turn.notice)
    if answer.abstained:
        related = tuple(hit_source(i, h, articles) for i, h in enumerate(answer.passages, 1))
        return TurnView(turn, sources=related, message=abstention_sentence(turn.filters))
    sources = tuple(citation_source(c, articles) for c in answer.citations)
    segments = answer_segments(answer, {s.number: s for s in sources})
    return TurnView(turn, tuple(segments), sources)


def render_conversation(turns: Sequence[Turn], articles: Mapping[str, Article]) -> str:
    """The chat log: every turn, newest last, with its answer and its sources (shown beside it on wide screens)."""
    views = [turn_view(t, articles) for t in turns]
    # a fresh render id: the page redraws even when the turns are unchanged (dropping a question echoed early)
    return render("conversation.html", turns=views, render_id=uuid.uuid4().hex[:12])
