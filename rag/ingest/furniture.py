"""Page furniture: the lines a site wraps around an article (buttons, forms, credits, footers), as pure rules."""

from __future__ import annotations

import re

# A rule drops text only when the text is furniture as a whole, never a sentence that merely contains a
# furniture word: "Share prices fell", "the advertisement campaign", "Related talks collapsed" and a deal
# that "does not necessarily reflect a thaw" are article text (issue 13). Three kinds of rule:
# - whole sentences: each pattern must match a sentence end to end (re.fullmatch, bounded tails), so a
#   longer statement around the phrase never matches;
# - labels: a marker word (advert, sponsored, an edition switcher) drops only a short line with no
#   sentence punctuation, the shape of a page label;
# - footers: a line that opens with a copyright notice is the site's legal block as a whole.
# A line is furniture when every sentence of it is; a furniture sentence inside a content line (the
# disclaimer after a contributor note, issue 9 class 5) is cut out and the rest kept.

_NAME = r"(?-i:[A-Z][\w’'&.-]*)(?: (?-i:[A-Z&][\w’'&.-]*)){0,5}"  # "Japan Times", "The Diplomat"
_BUTTON = r"share|tweet|e-?mail|print|whatsapp|facebook|wechat|twitter|linkedin|weibo|reddit|pinterest"
_DISCLAIMER_SUBJECT = (
    r"(?:the |these |all )?(?:author'?s'? |writer'?s'? )?(?:views?|opinions?)(?: and opinions)?(?: expressed)?"
    r"(?: (?:here|herein|above|in this (?:article|piece|column|commentary|op-ed|post)))?"
    r"(?: are (?:those|solely those|the views?) of the (?:authors?|writers?)(?: alone)?(?: and)?)?"
)
SENTENCE_FURNITURE = tuple(
    re.compile(rf"(?:{p})[\s.:;!*»›>|–-]*", re.I)  # trailing punctuation or arrows belong to the furniture
    for p in (
        r"(?:post|add|leave|write) (?:a |new |your |the )*(?:comments?|repl(?:y|ies)|response)",
        r"\d+ comments?|(?:[^|]{0,40}\|\s*)+\d+\s+comments?",  # "Feb. 09, 2018 | | 0 comments"
        r"\d+\s*[-+*x×]\s*\d+\s*=\s*\??",  # captcha sums
        r"solve this simple math problem(?: and enter the result)?|e\.g\.,? for \d+\s*[-+*x×]\s*\d+,? enter \d+",
        r"(?:the )?content of this field is kept private(?: and will not be shown publicly)?",
        r"(?:your )?email address will not be published|required fields are marked(?: with an asterisk)? ?\*?",
        r"(?:contact|about) us",
        rf"(?:(?:{_BUTTON})(?: (?:on|via|this(?: article| story| page)?))?[\s\-–:|/,]*)+",  # "Share - WeChat"
        r"(?:photo|image|picture|video|graphic)s?\s*(?:credits?|sources?|courtesy)(?:\s*(?::|(?:of|by)\b)\s*[^.!?]{0,60})?",
        r"\(\s*(?:credits?|courtesy)\s*:\s*[^.!?()]{1,60}\)|(?:credits?|courtesy)\s*:\s*[^.!?()]{1,60}",  # under a chart
        r"copyright|©|(?:copyright|©)(?:\s*(?:©|\(c\)|\d{4}(?:\s*[-–]\s*\d{4})?|[-–.,]))+|all rights reserved",
        r"licen[cs]e\b[^.!?]{0,60}?\d{4,}|registration (?:number|no\.?)\s*:?\s*[\w-]+",  # publishing licences
        r"(?:most|recently) (?:viewed|read|popular|shared|commented)(?: (?:in|over|today|this)(?: the)?(?: last| past)?"
        r"(?: \d+)? ?(?:hours?|days?|week|month)?)?",  # "Most Viewed in 24 Hours"
        rf"(?:culled|adapted|reprinted|republished|syndicated)(?: with permission)? from (?:the )?{_NAME}",
        rf"{_DISCLAIMER_SUBJECT},? (?:do not|don't|does not|doesn't|may not) necessarily (?:reflect|represent)"
        r" (?:those|the (?:official |editorial )?(?:views?|opinions?|positions?|policy|policies|stance))"
        r"(?: of (?:the )?[^.!?,]{1,50})?",  # "… don't necessarily reflect those of China Daily"
        r"if you have a specific expertise,? or would like to share your thoughts? about our stories[^.!?]*",
        r"read more|more|related(?: articles| stories| posts| content| news| coverage| topics)?|more (?:stories|articles|news)",
        rf"(?:subscribe|sign up)(?: now| today| (?:to|for) (?:our |the )?(?:newsletters?|updates|{_NAME}))?",
        rf"follow us(?: on {_NAME})?|(?:our |the )?newsletters?",
        r"(?:tags?|topics?|keywords?|filed under)\s*:\s*[^.!?,]{1,30}(?:,\s*[^.!?,]{1,30})*",  # short items only
        r"[\w’'&.-]+(?: [\w’'&.-]+)?(?: / [\w’'&.-]+(?: [\w’'&.-]+){0,2})+",  # breadcrumbs: Home / Opinion / …
    )
)
LABEL_MARKER = re.compile(r"\badvert(?:isement|orial)?s?\b|\bsponsored\b|global edition|中文", re.I)
LABEL_MAX_WORDS = 6
FOOTER_OPENER = re.compile(r"(?:copyright\s*(?:©|\(c\)|\d{4})|©)", re.I)
FOOTER_MAX_WORDS = 120  # a legal block runs to a few sentences; a longer line is text, whatever it opens with
SENTENCE_MAX_WORDS = 40  # no furniture sentence is longer; the bound also keeps huge lines cheap
SENTENCE_END = ".!?"
# A sentence ends at . ! or ? (closing quotes and brackets with it) before white space and a capital: rough,
# but furniture sentences are short and plain, and the corpus-trained Punkt model only exists after cleaning.
SENTENCE_BREAK = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a line, white space between them left out."""
    spans, start = [], 0
    for match in SENTENCE_BREAK.finditer(text):
        end = match.end() - len(match.group()) + len(match.group().rstrip())
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def is_label_furniture(text: str) -> bool:
    """'NNPC Advert', 'Global Edition': a short line without sentence punctuation, carrying a marker word."""
    stripped = text.strip()
    return (
        0 < len(stripped.split()) <= LABEL_MAX_WORDS
        and stripped[-1:] not in SENTENCE_END + "\"”’"
        and bool(LABEL_MARKER.search(stripped))
    )


def is_furniture_sentence(sentence: str) -> bool:
    """One sentence that is furniture end to end."""
    sentence = sentence.strip()
    if not sentence or len(sentence.split()) > SENTENCE_MAX_WORDS:
        return False
    return is_label_furniture(sentence) or any(p.fullmatch(sentence) for p in SENTENCE_FURNITURE)


def is_footer(line: str) -> bool:
    """A line opening with a copyright notice ("Copyright 1995 -. All rights reserved. The content …")."""
    stripped = line.strip()
    return bool(FOOTER_OPENER.match(stripped)) and len(stripped.split()) <= FOOTER_MAX_WORDS


def is_furniture(line: str) -> bool:
    """A whole line (or paragraph) of page furniture: a footer, or furniture in every sentence."""
    if not line.strip():
        return False
    if is_footer(line) or is_label_furniture(line):
        return True
    return all(is_furniture_sentence(line[start:end]) for start, end in split_sentences(line))


def without_furniture_sentences(unit: str) -> str:
    """The unit without its furniture sentences ("" when it is all furniture); unchanged when it has none."""
    if is_furniture(unit):
        return ""
    spans = split_sentences(unit)
    kept = [unit[start:end] for start, end in spans if not is_furniture_sentence(unit[start:end])]
    return unit if len(kept) == len(spans) else " ".join(kept)
