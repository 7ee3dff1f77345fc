"""Ingest: read article files (text, Markdown, HTML, PDF) and their metadata into clean `Article`s."""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping

from rag.ingest.cleaning import (  # noqa: F401 - the cleaning rules are part of this stage's interface
    drop_photo_captions,
    drop_repeated_units,
    is_furniture,
    join_wrapped_lines,
    lay_out,
    split_names,
    split_units,
    strip_footnote_markers,
)
from rag.ingest.pdf_layout import pdf_units
from rag.ingest.readers import MAX_FILE_BYTES, RawDocument, decode_text, read_document
from rag.types import Article, Paragraph

log = logging.getLogger(__name__)

# Which files of an articles folder are read; what each one is, is told by its content (rag.ingest.readers).
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".pdf")
# Part of every index's fingerprint: bump it when a cleaning rule changes what an article keeps, so builds
# made with the old rules are rebuilt (2: furniture judged whole, issue 13; 3: tables and reference lines are
# not body text, line-end hyphens that broke a word dropped, credit lines, issue 10).
CLEANING_VERSION = "3"
METADATA_FILE = "sources.toml"
MAX_ARTICLE_BYTES = MAX_FILE_BYTES
decode_article_bytes = decode_text  # the earlier name

META_FILE_STEMS = re.compile(r"^[A-Z][A-Z0-9_-]*$")  # README, SOURCES, LICENSE: notes, not articles
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
MD_HEADING = re.compile(r"^#{1,6}\s+")


class CorpusError(ValueError):
    """The articles folder cannot be used at all (missing, or no readable article in it)."""


@dataclass(frozen=True)
class SourceMetadata:
    """What is known of an article from outside its text (sources.toml or front matter)."""

    title: str = ""
    authors: tuple[str, ...] = ()
    publisher: str = ""
    date: str = ""
    url: str = ""


# ---------------------------------------------------------------- reading files


def normalize_text(text: str) -> str:
    """Unify line ends and odd spaces; drop control and zero-width characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = re.sub(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]", " ", text)
    text = re.sub(r"[\u200b-\u200d\u2060\ufeff\u00ad]", "", text)
    return "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split simple `key: value` front matter (between --- lines) from the body."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end() :]


def metadata_from_fields(fields: dict) -> SourceMetadata:
    authors = fields.get("authors", fields.get("author", ()))
    if isinstance(authors, str):
        authors = split_names(authors)
    return SourceMetadata(
        title=str(fields.get("title", "")).strip(),
        authors=tuple(a.strip() for a in authors if a.strip()),
        publisher=str(fields.get("publisher", "")).strip(),
        date=str(fields.get("date", "")).strip(),
        url=str(fields.get("url", "")).strip(),
    )


def read_metadata_file(folder: Path) -> dict[str, SourceMetadata]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        log.warning("%s: unreadable metadata, ignored (%s)", path.name, err)
        return {}
    return {name: metadata_from_fields(fields) for name, fields in table.items() if isinstance(fields, dict)}


def humanize_name(name: str) -> str:
    stem = Path(name).stem
    return re.sub(r"[_-]+", " ", stem).strip().capitalize() or name


def make_doc_id(name: str, taken: set[str]) -> str:
    """A URL-safe id from the file name, unique within the corpus."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(name).stem).strip("-.") or "article"
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    return doc_id


def clean_article(
    raw: str, name: str, metadata: SourceMetadata | None = None, doc_id: str = "", markdown: bool | None = None
) -> Article:
    """Turn the raw text of one file into an Article (metadata given overrides what the text says).
    Markdown headings lose their #s; by default a name ending in .md says the text is Markdown."""
    fields, body = parse_front_matter(normalize_text(raw))
    if name.endswith(".md") if markdown is None else markdown:
        body = "\n".join(MD_HEADING.sub("", line) for line in body.split("\n"))
    return assemble_article(split_units(body), name, doc_id, metadata, metadata_from_fields(fields))


def article_from_document(
    document: RawDocument, name: str, metadata: SourceMetadata | None = None, doc_id: str = "", origin: str = "seed"
) -> Article:
    """An Article from what a reader found in a file of any format. Metadata given (sources.toml) comes
    first, then front matter, then the file's own (HTML meta tags, PDF document information)."""
    found = SourceMetadata(document.title, document.authors, document.site_name, document.date, document.url)
    if document.format in ("text", "markdown"):
        article = clean_article(document.text, name, metadata, doc_id, markdown=document.format == "markdown")
    elif document.format == "html":
        units = split_units(normalize_text(document.text))
        article = assemble_article(units, name, doc_id, metadata, SourceMetadata(), found)
    else:
        pieces = pdf_units([normalize_text(page) for page in document.pages])
        pages: dict[str, int] = {}
        for piece in pieces:
            pages.setdefault(strip_footnote_markers(piece.text), piece.page)
        units = [piece.text for piece in pieces]
        article = assemble_article(units, name, doc_id, metadata, SourceMetadata(), found, pages)
    return article if origin == "seed" else replace(article, origin=origin)


def assemble_article(
    units: list[str],
    name: str,
    doc_id: str,
    given: SourceMetadata | None,
    front: SourceMetadata,
    found: SourceMetadata = SourceMetadata(),
    pages: Mapping[str, int] | None = None,
) -> Article:
    """Lay out cleaned units and number the paragraphs (with the page each starts on, for a PDF)."""
    given = given or SourceMetadata()
    layout = lay_out(drop_repeated_units(drop_photo_captions(units)), known_title=found.title)
    paragraphs, texts, offset = [], [], 0
    for number, (section, text) in enumerate(layout.body, start=1):
        page = pages.get(text) if pages is not None else None
        paragraphs.append(Paragraph(number=number, start=offset, end=offset + len(text), section=section, page=page))
        texts.append(text)
        offset += len(text) + 2
    return Article(
        doc_id=doc_id or make_doc_id(name, set()),
        title=given.title or front.title or layout.title or humanize_name(name),
        text="\n\n".join(texts),
        paragraphs=tuple(paragraphs),
        authors=given.authors or front.authors or found.authors or layout.authors,
        publisher=given.publisher or front.publisher or found.publisher,
        date=given.date or front.date or found.date or layout.date,
        url=given.url or front.url or found.url,
        source_name=name,
        footnotes=layout.footnotes,
    )


def is_article_file(path: Path) -> bool:
    return (
        path.suffix.lower() in ARTICLE_SUFFIXES
        and not path.name.startswith(".")
        and not META_FILE_STEMS.match(path.stem)
        and path.is_file()
    )


def article_files(folder: Path) -> list[Path]:
    """The files of a folder that may hold articles, in file-name order."""
    return [path for path in sorted(folder.iterdir()) if is_article_file(path)]


def read_article(path: Path, metadata: SourceMetadata | None = None) -> Article | None:
    """One file as a cleaned Article (its id from the file name alone), or None with a warning when unusable."""
    try:
        data = path.read_bytes()
    except OSError as err:
        log.warning("%s", err)
        return None
    return article_from_bytes(data, path.name, metadata)


def article_from_bytes(data: bytes, name: str, metadata: SourceMetadata | None = None) -> Article | None:
    """A file's bytes (text, Markdown, HTML or PDF) as a cleaned Article, or None with a warning when unusable."""
    try:
        document = read_document(data, name)
    except ValueError as err:  # UploadError is a ValueError: its message says why
        log.warning("%s: skipped: %s", name, err)
        return None
    article = article_from_document(document, name, metadata, make_doc_id(name, set()))
    if not article.paragraphs:
        log.warning("%s: no article text found, skipped", name)
        return None
    return article


def accept_articles(candidates: Iterable[Article | None], folder_name: str, allow_empty: bool = False) -> list[Article]:
    """Articles in file-name order, each given an id unique in the corpus; a text seen before is skipped."""
    articles: list[Article] = []
    taken: set[str] = set()
    seen_texts: dict[str, str] = {}
    for article in candidates:
        if article is None:
            continue
        if article.text in seen_texts:
            log.warning("%s: same text as %s, skipped", article.source_name, seen_texts[article.text])
            continue
        article = replace(article, doc_id=make_doc_id(article.source_name, taken))
        seen_texts[article.text] = article.source_name
        taken.add(article.doc_id)
        articles.append(article)
    if not articles and not allow_empty:
        raise CorpusError(f"no usable article (.txt, .md, .html or .pdf) in {folder_name}")
    return articles


def load_articles(folder: str | Path, allow_empty: bool = False) -> list[Article]:
    """Every usable article in a folder, in file-name order; unusable files are skipped with a warning."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"articles folder not found: {folder.name or folder}")
    metadata = read_metadata_file(folder)
    files = article_files(folder)
    return accept_articles((read_article(p, metadata.get(p.name)) for p in files), folder.name or str(folder), allow_empty)
