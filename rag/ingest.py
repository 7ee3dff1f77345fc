"""Ingest: read article files and their metadata, strip page furniture, and return clean `Article`s."""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.furniture import is_furniture, without_furniture_sentences
from rag.types import Article, Paragraph

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
# Part of every index's fingerprint: bump it when a cleaning rule changes what an article keeps, so builds
# made with the old rules are rebuilt (2: furniture judged whole, issue 13).
CLEANING_VERSION = "2"
METADATA_FILE = "sources.toml"
MAX_ARTICLE_BYTES = 5_000_000

TERMINAL = ".!?\"'”’)…"
HONORIFICS = re.compile(r"^(?:Prof(?:essor)?|Dr|Mr|Mrs|Ms|Sir)\.?\s+", re.I)

PHOTO_CREDIT = re.compile(r"\s\|\s*[A-Z][A-Z0-9 /.,&'-]{2,}$")  # "Caption text. | POOL / VIA KYODO"
READ_MORE_TAIL = re.compile(r"\s*(\.{3}|…)?\s*(read )?more\s*(>>|»|→)\s*$", re.I)
META_FILE_STEMS = re.compile(r"^[A-Z][A-Z0-9_-]*$")  # README, SOURCES, LICENSE: notes, not articles
FOOTNOTE_LINE = re.compile(r"^\[(\d{1,3})\]\s*(.*)$", re.S)
FOOTNOTE_MARKER = re.compile(r"\s?\[\d{1,3}\]")
BYLINE = re.compile(r"^by\s+(.+)$", re.I)
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
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


def decode_article_bytes(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM); fall back to Windows-1252 / Latin-1 with a warning."""
    if b"\x00" in data[:4096]:
        raise ValueError(f"{name}: looks binary (NUL bytes), skipped")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        log.warning("%s: not UTF-8, decoded as %s", name, encoding)
        return text
    raise ValueError(f"{name}: cannot be decoded")  # pragma: no cover - latin-1 decodes anything


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


def split_names(names: str) -> tuple[str, ...]:
    parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", names)
    return tuple(HONORIFICS.sub("", p).strip() for p in parts if p.strip())


# ---------------------------------------------------------------- line and paragraph rules


def word_count(text: str) -> int:
    return len(text.split())


def is_body(unit: str) -> bool:
    """Looks like running text: a sentence, or long enough to be one."""
    words = word_count(unit)
    if words >= 12:
        return True
    return words >= 2 and unit.rstrip()[-1:] in TERMINAL and (unit[:1].isalnum() or unit[:1] in "“\"'‘(")


def is_heading_like(unit: str) -> bool:
    """Short, capitalised, no sentence punctuation: a section heading (or furniture)."""
    stripped = unit.strip()
    return (
        0 < word_count(stripped) <= 8
        and len(stripped) <= 70
        and stripped[:1].isupper()
        and stripped[-1:] not in ".,;:!"
        and not re.search(r"[|=@]|\d{3,}", stripped)
    )


def column_width(lines: list[str]) -> int:
    """The width most long lines keep to (their 90th percentile), 0 when there are too few to tell.
    PDF-style hard-wrapped text is many lines almost all within a column's width (at most 120)."""
    long_lines = sorted(len(line) for line in lines if len(line.strip()) >= 40)
    return long_lines[int(0.9 * (len(long_lines) - 1))] if len(long_lines) >= 8 else 0


def join_wrapped_lines(lines: list[str]) -> str:
    """Rejoin a hard-wrapped block; a line ending in a hyphen keeps it and joins without a space."""
    out = ""
    for line in (part.strip() for part in lines):
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and not out.endswith(" -"):
            out += line
        else:
            out += " " + line
    return out


def drop_furniture_lines(block: list[str], width: int = 0) -> list[str]:
    """A block's lines without furniture lines. In hard-wrapped text (`width` > 0) a line that continues an
    unfinished sentence, or runs to the column's width, is running text, never furniture on its own: a
    line may start "share a long history …" or end "… the Advertisement" mid-sentence."""
    kept = []
    for line in block:
        continues = bool(kept) and kept[-1].rstrip()[-1:] not in TERMINAL
        running = width and (continues or len(line.rstrip()) >= 0.75 * width)
        if running or not is_furniture(line.strip()):
            kept.append(line)
    return kept


def split_units(body: str) -> list[str]:
    """Candidate paragraphs: blank-line separated blocks, rejoined when the text is hard-wrapped."""
    lines = [line.rstrip() for line in body.split("\n")]
    width = column_width(lines)
    wrapped = 0 < width <= 120
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    units = []
    for block in blocks:
        kept = drop_furniture_lines(block, width if wrapped else 0)
        if wrapped:
            joined = join_wrapped_lines(kept)
            if joined:
                units.append(joined)
        else:
            units.extend(re.sub(r" {2,}", " ", line.strip()) for line in kept)
    return [u for u in units if u]


def drop_photo_captions(units: list[str]) -> list[str]:
    """Captions carry a credit ("… | POOL / VIA KYODO"); drop them and their credit-less copies."""
    captions = {PHOTO_CREDIT.split(u)[0].strip() for u in units if PHOTO_CREDIT.search(u)}
    return [u for u in units if not PHOTO_CREDIT.search(u) and u.strip() not in captions]


def fold_for_comparison(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


CONTAINMENT_CHECK_LIMIT = 2000  # units; the containment test is quadratic, so huge files get exact dedup only


def drop_repeated_units(units: list[str]) -> list[str]:
    """Keep one copy of a repeated paragraph, and drop one that another paragraph contains whole."""
    folded = [fold_for_comparison(u) for u in units]
    check_containment = len(units) <= CONTAINMENT_CHECK_LIMIT
    kept = []
    seen = set()
    for i, unit in enumerate(units):
        key = folded[i]
        if not key or key in seen:
            continue
        contained = check_containment and word_count(unit) >= 12 and any(
            j != i and len(folded[j]) > len(key) and key in folded[j] for j in range(len(units))
        )
        if contained:
            continue
        seen.add(key)
        kept.append(unit)
    return kept


def strip_footnote_markers(text: str) -> str:
    """Remove "[12]"-style markers; repeat, since removing one can join the pieces of another ("[[1]2]")."""
    while FOOTNOTE_MARKER.search(text):
        text = FOOTNOTE_MARKER.sub("", text)
    return text


def is_editorial_note(unit: str) -> bool:
    """A paragraph wholly in parentheses: a disclaimer or editor's note, not article text."""
    trimmed = READ_MORE_TAIL.sub("", unit)
    return trimmed.startswith("(") and (trimmed.endswith(")") or trimmed != unit) and word_count(unit) >= 6


def parse_byline(unit: str) -> tuple[tuple[str, ...], str] | None:
    """'By A and B | | Updated: 2024-05-24 11:10' -> (('A', 'B'), '2024-05-24')."""
    match = BYLINE.match(unit.strip())
    if not match:
        return None
    rest = match.group(1)
    names = re.split(r"\s*\|", rest)[0]
    names = re.split(r"\s+(?:Updated|Published)\b", names, flags=re.I)[0]
    date = ISO_DATE.search(rest)
    return split_names(names), date.group(1) if date else ""


def looks_like_name(unit: str) -> bool:
    """'Prof Rajaram Panda': two to five capitalised words, no punctuation but initials."""
    words = HONORIFICS.sub("", unit.strip()).split()
    return 2 <= len(words) <= 5 and all(re.fullmatch(r"[A-Z][\w'’.-]*", w) for w in words)


# ---------------------------------------------------------------- the article


@dataclass(frozen=True)
class Layout:
    """The parts of a file once its furniture is gone: title, byline, sectioned body, footnotes."""

    title: str
    authors: tuple[str, ...]
    date: str
    body: tuple[tuple[str, str], ...]  # (section, paragraph text)
    footnotes: tuple[str, ...]


def lay_out(units: list[str]) -> Layout:
    """Sort cleaned units into title, byline, headings, body paragraphs and footnotes."""
    title, authors, date = "", (), ""
    footnotes = []
    kept = []
    for unit in units:
        unit = unit.strip()
        note = FOOTNOTE_LINE.match(unit)
        if note:
            footnotes.append(note.group(2).strip())
        elif not is_editorial_note(unit):  # judged whole: its "More >>" tail is part of what marks it
            unit = without_furniture_sentences(unit)
            if unit:
                kept.append(unit)
    # The first line is the title unless it reads as running text; bylines may follow it.
    if kept and word_count(kept[0]) <= 20 and kept[0][-1:] not in ".,;":
        title = kept.pop(0)
    while kept and (parse_byline(kept[0]) or (not authors and looks_like_name(kept[0]))):
        byline = parse_byline(kept[0]) or (split_names(kept[0]), "")
        authors, date = byline[0] or authors, byline[1] or date
        kept.pop(0)
    kept = [u for u in kept if u != title]
    body_positions = [i for i, u in enumerate(kept) if is_body(u)]
    if not body_positions:
        return Layout(title, tuple(authors), date, (), tuple(footnotes))
    first_body, last_body = body_positions[0], body_positions[-1]

    # Leading matter: more bylines and date lines; a heading just before the first paragraph
    # ("Synopsis") opens the first section.
    section = ""
    for i, unit in enumerate(kept[:first_body]):
        byline = parse_byline(unit)
        if byline:
            authors, date = byline[0] or authors, byline[1] or date
        elif i == first_body - 1 and is_heading_like(unit):
            section = unit

    body: list[tuple[str, str]] = []
    for i in range(first_body, last_body + 1):
        unit = kept[i]
        if is_body(unit):
            body.append((section, strip_footnote_markers(unit)))
        elif is_heading_like(unit):
            section = unit
    return Layout(title, tuple(authors), date, tuple(body), tuple(footnotes))


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


def clean_article(raw: str, name: str, metadata: SourceMetadata | None = None, doc_id: str = "") -> Article:
    """Turn the raw text of one file into an Article (metadata given overrides what the text says)."""
    fields, body = parse_front_matter(normalize_text(raw))
    given = metadata or SourceMetadata()
    front = metadata_from_fields(fields)
    if name.endswith(".md"):
        body = "\n".join(MD_HEADING.sub("", line) for line in body.split("\n"))
    layout = lay_out(drop_repeated_units(drop_photo_captions(split_units(body))))
    paragraphs, texts, offset = [], [], 0
    for number, (section, text) in enumerate(layout.body, start=1):
        paragraphs.append(Paragraph(number=number, start=offset, end=offset + len(text), section=section))
        texts.append(text)
        offset += len(text) + 2
    return Article(
        doc_id=doc_id or make_doc_id(name, set()),
        title=given.title or front.title or layout.title or humanize_name(name),
        text="\n\n".join(texts),
        paragraphs=tuple(paragraphs),
        authors=given.authors or front.authors or layout.authors,
        publisher=given.publisher or front.publisher,
        date=given.date or front.date or layout.date,
        url=given.url or front.url,
        source_name=name,
        footnotes=layout.footnotes,
    )


def load_articles(folder: str | Path) -> list[Article]:
    """Every usable article in a folder, in file-name order; unusable files are skipped with a warning."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"articles folder not found: {folder.name or folder}")
    metadata = read_metadata_file(folder)
    articles: list[Article] = []
    taken: set[str] = set()
    seen_texts: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if (
            path.suffix.lower() not in ARTICLE_SUFFIXES
            or path.name.startswith(".")
            or META_FILE_STEMS.match(path.stem)
            or not path.is_file()
        ):
            continue
        try:
            data = path.read_bytes()
            if len(data) > MAX_ARTICLE_BYTES:
                raise ValueError(f"{path.name}: larger than {MAX_ARTICLE_BYTES} bytes, skipped")
            raw = decode_article_bytes(data, path.name)
        except (OSError, ValueError) as err:
            log.warning("%s", err)
            continue
        article = clean_article(raw, path.name, metadata.get(path.name), make_doc_id(path.name, taken))
        if not article.paragraphs:
            log.warning("%s: no article text found, skipped", path.name)
            continue
        if article.text in seen_texts:
            log.warning("%s: same text as %s, skipped", path.name, seen_texts[article.text])
            continue
        seen_texts[article.text] = path.name
        taken.add(article.doc_id)
        articles.append(article)
    if not articles:
        raise CorpusError(f"no usable .txt or .md article in {folder.name or folder}")
    return articles
