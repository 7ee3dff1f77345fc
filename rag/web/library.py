"""The chat page's articles: the list of seed and uploaded articles, adding files and removing uploads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from rag.errors import UploadError
from rag.ingest.readers import MAX_FILE_BYTES
from rag.types import Article
from rag.web.access import TOKEN_ENV, WriteAccess
from rag.web.conversation import Turn
from rag.web.markup import DOT, render

log = logging.getLogger(__name__)

ADD_FAILED = "could not be added because of an error on the server; the details are in the server log."
REMOVE_FAILED = "Removing the article failed because of an error on the server; the details are in the server log."


@dataclass(frozen=True)
class ListedArticle:
    doc_id: str
    title: str
    byline: str
    uploaded: bool


def listed(articles: Mapping[str, Article]) -> list[ListedArticle]:
    """Seed articles first, then uploads, each by title."""
    ordered = sorted(articles.values(), key=lambda a: (a.origin == "upload", a.title.lower()))
    return [
        ListedArticle(a.doc_id, a.title, DOT.join(x for x in (", ".join(a.authors), a.date) if x), a.origin == "upload")
        for a in ordered
    ]


def render_article_list(articles: Mapping[str, Article], can_remove: bool) -> str:
    return render("article_admin.html", articles=listed(articles), can_remove=can_remove)


def token_refusal(access: WriteAccess, token: str | None) -> str:
    """Why the page may not write with this token ("" when it may)."""
    if access.loopback:
        return ""
    if not access.token:
        return f"Adding and removing articles is turned off here ({TOKEN_ENV} is not set)."
    if not access.token_matches((token or "").strip()):
        return "Enter the admin token to add or remove articles."
    return ""


def read_file(path: str) -> tuple[bytes, str] | str:
    """The bytes of one file the page received, or why it cannot be read (over 20 MB, gone)."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return f"larger than {MAX_FILE_BYTES // 2**20} MB, the most accepted"
        return file.read_bytes(), file.name
    except OSError:
        return "could not be read after it was sent; try again"


def add_files(assistant, paths: Sequence[str]) -> Iterator[tuple[str, Turn | None]]:
    """For each file: a progress line while it is read and indexed, then a turn saying what became of it."""
    total = len(paths)
    for number, path in enumerate(paths, 1):
        name = Path(path).name
        yield f"Reading and indexing \u201c{name}\u201d ({number} of {total})\u2026", None
        read = read_file(path)
        if isinstance(read, str):
            yield "", Turn("", notice=f"\u201c{name}\u201d was not added: it is {read}.")
            continue
        try:
            added = assistant.add_upload(*read)
        except UploadError as err:
            yield "", Turn("", notice=f"\u201c{name}\u201d was not added. {err}")
            continue
        except Exception:
            log.exception("adding %r failed", name)
            yield "", Turn("", notice=f"\u201c{name}\u201d {ADD_FAILED}", error=True)
            continue
        article = added.article
        if added.created:
            paragraphs = f"{len(article.paragraphs)} paragraph{'s' if len(article.paragraphs) != 1 else ''}"
            message = f"Added \u201c{article.title}\u201d from \u2068{name}\u2069 ({paragraphs}). You can ask about it now."
        else:
            message = f"\u201c{name}\u201d is already here, as \u201c{article.title}\u201d."
        yield "", Turn("", notice=message, info=added.created)


def remove_article(assistant, doc_id: str) -> Turn:
    title = getattr(assistant.articles.get(doc_id), "title", doc_id)
    try:
        assistant.remove(doc_id)
    except UploadError as err:
        return Turn("", notice=f"\u201c{title}\u201d was not removed. {err}")
    except Exception:
        log.exception("removing %r failed", doc_id)
        return Turn("", notice=REMOVE_FAILED, error=True)
    return Turn("", notice=f"Removed \u201c{title}\u201d: its file and its passages are gone.", info=True)
