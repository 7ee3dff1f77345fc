"""Cleaning rules: pure functions that tell article text from page furniture and sort lines into a layout."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ingest.furniture import is_furniture, without_furniture_sentences

TERMINAL = ".!?\"'”’)…"
HONORIFICS = re.compile(r"^(?:Prof(?:essor)?|Dr|Mr|Mrs|Ms|Sir)\.?\s+", re.I)

PHOTO_CREDIT = re.compile(r"\s\|\s*[A-Z][A-Z0-9 /.,&'-]{2,}$")  # "Caption text. | POOL / VIA KYODO"
READ_MORE_TAIL = re.compile(r"\s*(\.{3}|…)?\s*(read )?more\s*(>>|»|→)\s*$", re.I)
FOOTNOTE_LINE = re.compile(r"^\[(\d{1,3})\]\s*(.*)$", re.S)
FOOTNOTE_MARKER = re.compile(r"\s?\[\d{1,3}\]")
BYLINE = re.compile(r"^by\s+(.+)$", re.I)
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
MIN_LOWERCASE_SHARE = 0.25  # English prose: 40-60% of words; tables, headlines and name lists: ~0-15%
LINE_END_HYPHEN = re.compile(r"([^\W\d_]+)-$")
LINE_START_WORD = re.compile(r"^([^\W\d_]+)")
WORD_FORM = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def split_names(names: str) -> tuple[str, ...]:
    parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", names)
    return tuple(HONORIFICS.sub("", p).strip() for p in parts if p.strip())


# ---------------------------------------------------------------- line and paragraph rules


def word_count(text: str) -> int:
    return len(text.split())


def lowercase_share(unit: str) -> float:
    """The share of words that start in lower case (after an opening quote or bracket)."""
    words = unit.split()
    return sum(1 for w in words if w.lstrip("“\"'‘([")[:1].islower()) / len(words) if words else 0.0


def is_body(unit: str) -> bool:
    """Looks like running text: a sentence, or long enough to be one. Running text has its function words
    in lower case; a run of capitalised words and numbers is a table row, a list of names, a headline or
    a reference ("Nature 574, 16-17 (2019)"), not a paragraph."""
    words = word_count(unit)
    if lowercase_share(unit) < MIN_LOWERCASE_SHARE:
        return False
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


def wrapped_vocabulary(lines: list[str]) -> frozenset[str]:
    """The lower-cased words (and hyphenated compounds) of wrapped lines, leaving out the pieces of words
    that a line-end hyphen splits, so that they tell whether a split word exists whole elsewhere."""
    words: set[str] = set()
    previous_split = False
    for line in (part.strip() for part in lines):
        found = WORD_FORM.findall(line.casefold())
        split = bool(LINE_END_HYPHEN.search(line))
        if previous_split and found and LINE_START_WORD.match(line):
            found = found[1:]
        if split and found:
            found = found[:-1]
        words.update(found)
        previous_split = split
    return frozenset(words)


def drops_line_end_hyphen(left: str, right: str, vocabulary: frozenset[str]) -> bool:
    """Is "left-" at a line end followed by "right" one word broken by hyphenation ("adip-" "iscing") rather
    than a compound ("well-" "known", "Sino-" "Japanese")? Decided by the document's own words: the joined
    word seen elsewhere -> joined; the compound, or both halves as words -> hyphen kept; else joined."""
    if not (left[-1:].islower() and right[:1].islower()):
        return False
    left, right = left.casefold(), right.casefold()
    if left + right in vocabulary:
        return True
    if f"{left}-{right}" in vocabulary:
        return False
    return not (left in vocabulary and right in vocabulary)


def join_wrapped_lines(lines: list[str], vocabulary: frozenset[str] | None = None) -> str:
    """Rejoin a hard-wrapped block. A line ending in a hyphen joins the next without a space; given the
    document's vocabulary (see wrapped_vocabulary), a hyphen that only broke a word is dropped too."""
    out = ""
    for line in (part.strip() for part in lines):
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and not out.endswith(" -"):
            left, right = LINE_END_HYPHEN.search(out), LINE_START_WORD.match(line)
            if vocabulary is not None and left and right and drops_line_end_hyphen(left[1], right[1], vocabulary):
                out = out[:-1]
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
    vocabulary = wrapped_vocabulary(lines) if wrapped else None
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
            joined = join_wrapped_lines(kept, vocabulary)
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


def lay_out(units: list[str], known_title: str = "") -> Layout:
    """Sort cleaned units into title, byline, headings, body paragraphs and footnotes. With a `known_title`
    (from a page's metadata) no line is taken for the title, and the body's copies of it are dropped."""
    title, authors, date = known_title, (), ""
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
    if known_title:
        kept = [u for u in kept if fold_for_comparison(u) != fold_for_comparison(known_title)]
    elif kept and word_count(kept[0]) <= 20 and kept[0][-1:] not in ".,;":
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

