"""The tests' own grounding oracle: every cited stretch of an answer, looked up in the article it cites.

Independent of `rag.answer` on purpose: it reads the article as ingested (`assistant.articles[doc_id]`), never
the `Citation.text` / passage objects the composer worked from, and it is small enough to check by eye. A
composer or a `grounding_problems` that is wrong cannot also make this oracle agree."""

from __future__ import annotations

import re

MARKER_GROUP = re.compile(r"((?:\[\d+\])+)")


def fold(text: str) -> str:
    """White space folded, nothing else: the answer must copy the article's characters."""
    return " ".join(text.split())


def cited_paragraph(articles, citation) -> str:
    article = articles[citation.doc_id]
    paragraph = article.paragraphs[citation.paragraph - 1]
    assert paragraph.number == citation.paragraph
    return article.text[paragraph.start : paragraph.end]


def ungrounded(answer, articles) -> list[str]:
    """What in the answer is not copied from a paragraph it cites (empty: all of it is)."""
    if answer.abstained:
        return [] if not answer.citations else ["an abstention carries citations"]
    by_number = {c.number: c for c in answer.citations}
    pieces = MARKER_GROUP.split(answer.text)
    problems = []
    if not answer.citations:
        problems.append("an answer without citations")
    if fold(pieces[-1]):
        problems.append(f"uncited text at the end: {fold(pieces[-1])!r}")
    for stretch, markers in zip(pieces[0::2], pieces[1::2]):
        numbers = [int(n) for n in re.findall(r"\d+", markers)]
        unknown = [n for n in numbers if n not in by_number]
        if unknown:
            problems.append(f"markers {unknown} name no citation")
        quoted = fold(stretch)
        if not quoted:
            problems.append(f"{markers} cites nothing")
            continue
        sources = [fold(cited_paragraph(articles, by_number[n])) for n in numbers if n in by_number]
        if not any(quoted in source for source in sources):
            problems.append(f"not in the cited paragraphs {markers}: {quoted!r}")
    return problems
