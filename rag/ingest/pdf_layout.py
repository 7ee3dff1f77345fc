"""PDF page text -> paragraphs, each with the page it starts on: page numbers and running headers dropped,
hard-wrapped lines and hyphenated breaks rejoined (rag.ingest.cleaning's join_wrapped_lines)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from rag.ingest.cleaning import fold_for_comparison, join_wrapped_lines, word_count, wrapped_vocabulary

PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?[-–—]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I
)
EDGE_LINES = 2  # running headers and footers sit in the first or last two lines of a page
RUNNING_MAX_WORDS = 12
RUNNING_MIN_PAGES = 3
SENTENCE_END = ".!?:\"'”’)…"
# A paragraph's last line is visibly shorter than the column; lines inside one fill it (justified text
# comes within a few characters of the width, ragged-right text within about a fifth).
PARAGRAPH_END_FILL = 0.8
TITLE_CASE_SHARE = 0.6
SHORT_LINE_WORDS = 4


@dataclass(frozen=True)
class PageUnit:
    """A candidate paragraph of a PDF: its text (lines rejoined) and the 1-based page where it starts."""

    page: int
    text: str


def furniture_key(line: str) -> str:
    """Running headers differ from page to page only in their numbers: compare them with digits masked."""
    return re.sub(r"\d+", "#", fold_for_comparison(line))


def running_lines(pages: Sequence[Sequence[str]]) -> frozenset[str]:
    """Keys of short lines found at the top or bottom of at least half the pages (and of three): running
    headers and footers such as a journal name or "Page 3 of 9"."""
    if len(pages) < RUNNING_MIN_PAGES:
        return frozenset()
    counts: Counter[str] = Counter()
    for lines in pages:
        filled = [line for line in lines if line.strip()]
        edges = filled[:EDGE_LINES] + filled[-EDGE_LINES:]
        counts.update({furniture_key(line) for line in edges if word_count(line) <= RUNNING_MAX_WORDS})
    needed = max(RUNNING_MIN_PAGES, (len(pages) + 1) // 2)
    return frozenset(key for key, n in counts.items() if key and n >= needed)


def strip_page_furniture(lines: list[str], running: frozenset[str]) -> list[str]:
    """Drop page numbers and running headers/footers from the edges of one page's lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])
    return [
        line
        for i, line in enumerate(lines)
        if i not in edges or not (PAGE_NUMBER.match(line.strip()) or furniture_key(line) in running)
    ]


def line_width(lines: Sequence[str]) -> int:
    """The length of a full line: the 90th percentile of lines long enough to be running text."""
    lengths = sorted(len(line) for line in lines if len(line) >= 20) or sorted(len(line) for line in lines) or [0]
    return lengths[int(0.9 * (len(lengths) - 1))]


def is_title_case(line: str) -> bool:
    words = [w for w in line.split() if w[:1].isalnum()]
    return bool(words) and sum(1 for w in words if not w[:1].islower()) >= TITLE_CASE_SHARE * len(words)


def is_label_line(line: str, width: int) -> bool:
    """A heading, title, caption or byline line: short, Title Case or a few words, no sentence end."""
    return (
        len(line) < PARAGRAPH_END_FILL * width
        and line[-1:] not in SENTENCE_END
        and (is_title_case(line) or word_count(line) <= SHORT_LINE_WORDS)
    )


def ends_paragraph(line: str, following: str, width: int) -> bool:
    """Does a paragraph (or a heading, title or byline line) end with this line? Inside a paragraph every
    line but the last fills the column, so a short line ends one, as does a sentence before a label line."""
    line, following = line.strip(), following.strip()
    if not line or not following:
        return True
    if line[-1] in SENTENCE_END:
        return len(line) < PARAGRAPH_END_FILL * width or is_label_line(following, width)
    # "Two-Column Document" / "Abstract" / "January 3, 2024" before a capital: a line of its own.
    return is_label_line(line, width) and following[:1].isupper()


def pdf_units(pages: Sequence[str]) -> list[PageUnit]:
    """Candidate paragraphs of a PDF in reading order (as pypdf extracts it), each with its start page.
    Page breaks are not paragraph breaks: a paragraph running over onto the next page stays whole."""
    split = [[line.rstrip() for line in page.split("\n")] for page in pages]
    running = running_lines(split)
    numbered = [(number, line) for number, lines in enumerate(split, 1) for line in strip_page_furniture(lines, running)]
    lines = [line for _, line in numbered]
    width = line_width([line.strip() for line in lines if line.strip()])
    vocabulary = wrapped_vocabulary(lines)
    units: list[PageUnit] = []
    block: list[str] = []
    start = 1
    for i, (page, line) in enumerate(numbered):
        if line.strip():
            if not block:
                start = page
            block.append(line)
        following = numbered[i + 1][1] if i + 1 < len(numbered) else ""
        if block and ends_paragraph(line, following, width):
            text = re.sub(r" {2,}", " ", join_wrapped_lines(block, vocabulary))
            if text:
                units.append(PageUnit(start, text))
            block = []
    return units
