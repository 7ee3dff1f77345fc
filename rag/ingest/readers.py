"""Readers: a file's bytes -> its text and metadata, the format told by content (magic bytes, markup), not name."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.errors import EmptyText, EncryptedPdf, FileTooLarge, MalformedFile, UnsupportedFile

log = logging.getLogger(__name__)

FORMATS = ("pdf", "html", "markdown", "text")
MAX_FILE_BYTES = 20 * 1024 * 1024
PARSE_SECONDS = 60.0  # a 20 MB PDF of text parses in ~10 s here; what takes longer is broken or hostile
WORKER = Path(__file__).with_name("extract_worker.py")

# Formats we do not read, by their leading bytes: named so the message can say what the file really is.
MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"\xca\xfe\xba\xbe", "an executable (Mach-O) or Java class"),
    (b"\xcf\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"#!", "a script"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
    (b"\x00asm", "a WebAssembly module"),
)
PDF_HEADER_WINDOW = 1024  # the PDF spec lets "%PDF-" start anywhere in the first 1,024 bytes
HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*|<\?xml[^>]*>\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b",
    re.I | re.S,
)
MARKDOWN_SIGNS = re.compile(r"\A---\s*\n|^#{1,6}\s+\S", re.M)


@dataclass(frozen=True)
class RawDocument:
    """What a reader found in a file, before any cleaning: text (or a PDF's pages) and its own metadata."""

    format: str  # one of FORMATS
    text: str = ""  # html: the main text, one block a line; markdown and text: the decoded file
    pages: tuple[str, ...] = ()  # pdf: the text of each page, NFKC-normalised
    title: str = ""
    authors: tuple[str, ...] = ()
    date: str = ""  # ISO yyyy-mm-dd when known
    site_name: str = ""
    url: str = ""


# ---------------------------------------------------------------- telling the format


def detect_format(data: bytes) -> str:
    """'pdf', 'html', 'markdown' or 'text' from the bytes themselves; anything else is UnsupportedFile."""
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "pdf"
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise UnsupportedFile(f"This file is {what}, not an article: send an HTML page, a PDF, or a text or Markdown file.")
    if data[257:262] == b"ustar":
        raise UnsupportedFile("This file is a tar archive, not an article: send an HTML page, a PDF, or a text or Markdown file.")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFile("This file is binary data of a kind the assistant cannot read: send an HTML page, a PDF, or a text or Markdown file.")
    if HTML_START.match(data[:4096]):
        return "html"
    head = data[:65536].decode("utf-8", errors="replace")
    return "markdown" if MARKDOWN_SIGNS.search(head) else "text"


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM) or UTF-16 with BOM; fall back to Windows-1252 / Latin-1 with a warning."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
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


# ---------------------------------------------------------------- reading


def read_document(data: bytes, name: str = "", time_limit: float = PARSE_SECONDS) -> RawDocument:
    """The text and metadata of one file; an UploadError (with a message for a person) when it cannot be read."""
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(f"The file is {len(data) / 2**20:.1f} MB; files up to {MAX_FILE_BYTES // 2**20} MB are accepted.")
    if not data.strip():
        raise EmptyText("The file is empty.")
    kind = detect_format(data)
    if kind in ("text", "markdown"):
        return RawDocument(kind, text=decode_text(data, name))
    found = run_worker(kind, data, time_limit)
    if kind == "html":
        return RawDocument(
            "html",
            text=found.get("text", ""),
            title=plausible_title(found.get("title", "")),
            authors=split_authors(found.get("author", "")),
            date=iso_date(found.get("date", "")),
            site_name=found.get("site_name", ""),
            url=found.get("url", ""),
        )
    return RawDocument(
        "pdf",
        pages=tuple(pdf_page_text(str(p)) for p in found.get("pages", ())),
        title=plausible_title(found.get("title", "")),
        authors=split_authors(found.get("author", "")),
        date=iso_date(found.get("date", "")),
    )


def pdf_page_text(text: str) -> str:
    """NFKC: typesetting ligatures and compatibility forms become plain letters ("ﬁnance" -> "finance")."""
    return unicodedata.normalize("NFKC", text)


def run_worker(kind: str, data: bytes, time_limit: float) -> dict:
    """Parse in a child process (see extract_worker.py), killed when it runs past `time_limit` seconds."""
    what = "PDF" if kind == "pdf" else "HTML page"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(WORKER), kind], input=data, capture_output=True, timeout=time_limit, env=env
        )
    except subprocess.TimeoutExpired as err:
        raise MalformedFile(
            f"Reading this {what} took longer than {time_limit:g} s, so it was stopped: it may be damaged, "
            "or too long to read here."
        ) from err
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        log.warning("extract worker failed (exit %s): %s", done.returncode, done.stderr.decode(errors="replace")[-500:])
        raise MalformedFile(f"This {what} could not be read; the file may be damaged.") from None
    if result.get("ok"):
        return result
    error, detail = result.get("error"), result.get("detail", "")
    log.info("extract worker refused a %s: %s %s", kind, error, detail)
    if error == "encrypted":
        raise EncryptedPdf("This PDF is encrypted (password-protected); save an unprotected copy and add that.")
    if error == "too_deep":
        raise MalformedFile(f"This {what} cannot be read: {detail}.")
    if error == "memory":
        raise MalformedFile(f"Reading this {what} needed more memory than allowed; the file may be damaged or hostile.")
    raise MalformedFile(f"This {what} could not be read; the file may be damaged.")


# ---------------------------------------------------------------- metadata as readers report it

NOT_A_TITLE = re.compile(r"^(untitled|document\d*|microsoft word - .*)$|\.(docx?|pdf|tex|dvi|odt|rtf|txt)$", re.I)


def plausible_title(title: str) -> str:
    """A document-information title, unless it is a placeholder or a file name ("Microsoft Word - x.doc")."""
    title = " ".join(title.split())
    return "" if not title or NOT_A_TITLE.search(title) or len(title) > 300 else title


def split_authors(text: str) -> tuple[str, ...]:
    """'A; B' or 'A, B and C' -> ('A', 'B', 'C'); trafilatura joins several authors with '; '."""
    parts = re.split(r"\s*(?:;|,|\band\b|&)\s*", " ".join(text.split()))
    return tuple(p for p in parts if p and len(p) <= 100)


def iso_date(text: str) -> str:
    match = re.match(r"\d{4}-\d{2}-\d{2}", text.strip())
    return match.group(0) if match else ""
