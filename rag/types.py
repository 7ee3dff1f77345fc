"""Frozen dataclasses passed between the pipeline stages (ingest -> chunking -> index -> retrieval -> answer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) into an article's cleaned text."""

    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    """One cleaned paragraph of an article, numbered as a reader counts them (1-based)."""

    number: int
    start: int
    end: int
    section: str = ""
    page: int | None = None  # the PDF page where the paragraph starts; None for other formats


@dataclass(frozen=True)
class Article:
    """A cleaned article: paragraphs are joined by blank lines in `text`, with their offsets kept."""

    doc_id: str
    title: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    authors: tuple[str, ...] = ()
    publisher: str = ""
    date: str = ""
    url: str = ""
    source_name: str = ""
    footnotes: tuple[str, ...] = ()
    origin: str = "seed"  # "seed": from the articles folder; "upload": added by a user (see rag.ingest.uploads)

    def paragraph_text(self, paragraph: Paragraph) -> str:
        return self.text[paragraph.start : paragraph.end]

    def page_of(self, paragraph_number: int) -> int | None:
        """The PDF page where a paragraph (numbered from 1) starts; None when not a PDF or out of range."""
        if 1 <= paragraph_number <= len(self.paragraphs):
            return self.paragraphs[paragraph_number - 1].page
        return None

    def page_at(self, offset: int) -> int | None:
        """The PDF page of the paragraph holding a character offset of `text` (a quoted sentence's start)."""
        for paragraph in self.paragraphs:
            if offset < paragraph.end:
                return paragraph.page if offset >= paragraph.start else None
        return None


@dataclass(frozen=True)
class Added:
    """What adding a file gave: its article, and whether it is new (False: the same content was there)."""

    article: Article
    created: bool


@dataclass(frozen=True)
class Passage:
    """The unit of retrieval: a paragraph, or a sentence-aligned piece of a long one."""

    passage_id: int
    doc_id: str
    paragraph: int
    start: int
    end: int
    text: str
    section: str = ""
    sentences: tuple[Span, ...] = ()  # offsets into the article, like start/end

    def sentence_text(self, sentence: Span) -> str:
        return self.text[sentence.start - self.start : sentence.end - self.start]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and where each retriever ranked it (None: not ranked)."""

    passage: Passage
    title: str
    score: float
    rank: int
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float = 0.0

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def doc_id(self) -> str:
        return self.passage.doc_id

    @property
    def paragraph(self) -> int:
        return self.passage.paragraph

    @property
    def section(self) -> str:
        return self.passage.section

    @property
    def url(self) -> str:
        return passage_url(self.passage.doc_id, self.passage.paragraph)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage it quotes and the stretches quoted from it."""

    number: int
    doc_id: str
    title: str
    url: str
    paragraph: int
    text: str
    quote: str
    score: float
    spans: tuple[Span, ...] = ()  # the quoted stretches, as offsets into the article
    page: int | None = None  # the PDF page where the cited paragraph starts (None: not a PDF)


@dataclass(frozen=True)
class ShortAnswer:
    """The exact phrase that answers (a date, number, name …): a span of one cited passage.

    `citation.text[start:end] == text` for the citation numbered `citation`, and
    `answer.text[answer_start:answer_end] == text` in the answer it belongs to (where the reader sees it)."""

    text: str
    citation: int
    start: int
    end: int
    answer_start: int
    answer_end: int
    score: float = 0.0


@dataclass(frozen=True)
class Answer:
    """What `Assistant.ask` returns: answer text with [n] markers, its citations and the passages seen."""

    question: str
    text: str
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    retrieval_query: str = ""  # the question as resolved with the conversation history
    notes: tuple[str, ...] = field(default=())  # why the composer decided as it did, for debugging
    short_answer: ShortAnswer | None = None


def passage_url(doc_id: str, paragraph: int) -> str:
    """The link that opens an article at a paragraph in the app's article view."""
    return f"/articles/{doc_id}#p{paragraph}"


@dataclass(frozen=True)
class ScoredRow:
    """A row of an index (a passage's position) and its score for one query."""

    row: int
    score: float
