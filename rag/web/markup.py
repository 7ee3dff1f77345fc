"""What the pages and the chat share: Jinja2 templates (autoescaped), quoted stretches to highlight, safe links."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable
from urllib.parse import quote as url_quote
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
MAX_QUOTE_CHARS = 1000  # keeps citation links (and the regex work they cause) small
MIN_QUOTE_PIECE = 3  # shorter pieces of a quote would mark every "a" and "of"
DOT = " \u00b7 "

# ---------------------------------------------------------------- quotes and highlighting

QUOTE_BREAK = re.compile(r"\s*(?:\[?(?:\u2026|\.\.\.)\]?)\s*")  # where a quote skips text
QUOTE_TRIM = " \"'\u201c\u201d\u2018\u2019"


def quote_pieces(quote: str) -> list[str]:
    pieces = (p.strip(QUOTE_TRIM) for p in QUOTE_BREAK.split(quote[:MAX_QUOTE_CHARS]))
    return [p for p in pieces if len(p) >= MIN_QUOTE_PIECE]


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def quote_ranges(text: str, quote: str) -> list[tuple[int, int]]:
    """Where the pieces of a quote occur in text; white space may differ (the quote may be re-flowed)."""
    ranges = []
    for piece in quote_pieces(quote or ""):
        pattern = r"\s+".join(map(re.escape, piece.split()))
        ranges += [m.span() for m in re.finditer(pattern, text)]
    return merge_ranges(ranges)


def highlight_pieces(text: str, quote: str = "") -> list[tuple[str, bool]]:
    """The text cut into (piece, quoted) pairs, for a template to wrap the quoted pieces in <mark>."""
    pieces, pos = [], 0
    for start, end in quote_ranges(text, quote):
        pieces += [(text[pos:start], False), (text[start:end], True)]
        pos = end
    pieces.append((text[pos:], False))
    return [(piece, marked) for piece, marked in pieces if piece]


# ---------------------------------------------------------------- links


def with_quote(url: str, quote: str) -> str:
    """The article-view URL with the quote to highlight as ?q=, before the #p fragment."""
    if not quote:
        return url
    path, sep, fragment = url.partition("#")
    return f"{path}?{urlencode({'q': quote[:MAX_QUOTE_CHARS]})}{sep}{fragment}"


def article_url(doc_id: str) -> str:
    return f"/articles/{url_quote(doc_id, safe='')}"


def safe_external_url(url: str) -> str:
    """Only http(s) links leave the app; a javascript: or data: "URL" from a metadata file is not linked."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


# ---------------------------------------------------------------- text of people, in a page

ISOLATE_START, ISOLATE_END = "\u2068", "\u2069"  # FSI and PDI: a message marks a file name with them
QUOTED = re.compile(r"(\u201c)([^\u201d]*)(\u201d)|\u2068([^\u2069]*)\u2069")


def isolated(text: str) -> Markup:
    """`text` escaped, with each stretch in curly quotes (“a title”) and each one between FSI and PDI (a file
    name) in a <bdi>: a right-to-left override in a title or a file name then stops at its end instead of
    turning the rest of the message around."""
    text = str(text)
    out, pos = [], 0
    for match in QUOTED.finditer(text):
        out.append(escape(text[pos : match.start()]))
        if match.group(1):
            out.append(Markup("\u201c<bdi>{}</bdi>\u201d").format(match.group(2)))
        else:
            out.append(Markup("<bdi>{}</bdi>").format(match.group(4)))
        pos = match.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


# ---------------------------------------------------------------- templates


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Every page and chat fragment is a template; autoescape is on, so text is never read as markup."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        highlight_pieces=highlight_pieces,
        with_quote=with_quote,
        article_url=article_url,
        safe_external_url=safe_external_url,
        DOT=DOT,
        FONT_FACES=Markup((STATIC / "fonts.css").read_text(encoding="utf-8")),
    )
    env.filters["isolated"] = isolated
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
