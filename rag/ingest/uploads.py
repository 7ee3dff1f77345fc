"""Uploads: users' original files, kept unchanged under names made from their content, and read into Articles.

The client's file name is kept only as a label (in a JSON note beside the file): it never becomes a path, so
no name can reach outside the folder or overwrite another upload, and the same content is stored once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.errors import (  # the errors an upload can raise are importable from here
    EmptyText,
    EncryptedPdf,
    FileTooLarge,
    MalformedFile,
    SeedArticle,
    UnknownArticle,
    UnsupportedFile,
    UploadError,
)
from rag.files import write_bytes_atomic
from rag.ingest.articles import article_from_document
from rag.ingest.readers import PARSE_SECONDS, read_document
from rag.types import Added, Article

__all__ = [
    "Added", "EmptyText", "EncryptedPdf", "FileTooLarge", "MalformedFile", "SeedArticle", "StoredUpload",
    "UnknownArticle", "UnsupportedFile", "UploadError", "UploadStore", "read_upload", "upload_doc_id",
]

log = logging.getLogger(__name__)

EXTENSIONS = {"pdf": "pdf", "html": "html", "markdown": "md", "text": "txt"}
STORED_NAME = re.compile(r"^([0-9a-f]{64})\.(pdf|html|md|txt)$")
DOC_ID_PREFIX = "upload-"
DOC_ID_HEX = 16
MAX_LABEL_CHARS = 200
STALE_TEMP_SECONDS = 3600
TEMP_PREFIX = ".tmp-upload-"


@dataclass(frozen=True)
class StoredUpload:
    """One kept original: its content hash (also its file name), its format and the name it came with."""

    digest: str
    path: Path
    filename: str  # the client's file name, sanitised: a label, never a path
    uploaded_at: str

    @property
    def doc_id(self) -> str:
        return upload_doc_id(self.digest)


def upload_doc_id(digest: str) -> str:
    """Stable across restarts and rebuilds, unique per content, URL-safe."""
    return DOC_ID_PREFIX + digest[:DOC_ID_HEX]


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_label(filename: str) -> str:
    """The last part of a client's file name, without control characters: shown to people, never opened."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    name = name.strip(". ") or "upload"
    return name[:MAX_LABEL_CHARS]


def read_upload(data: bytes, filename: str, time_limit: float = PARSE_SECONDS) -> Article:
    """The Article an uploaded file makes (doc id from its content), or an UploadError saying why not."""
    label = file_label(filename)
    document = read_document(data, label, time_limit)
    article = article_from_document(document, label, None, upload_doc_id(content_digest(data)), origin="upload")
    if not article.paragraphs:
        if document.format == "pdf":
            raise EmptyText(
                "No text was found in this PDF. If it is a scan, it has no text layer: run it through "
                "text recognition (OCR) first."
            )
        raise EmptyText("No article text was found in this file (only navigation, headings or very short lines).")
    return article


class UploadStore:
    """The uploads folder: `<sha256>.<ext>` originals, each with a `<sha256>.json` note of its label and time."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def entries(self) -> list[StoredUpload]:
        """Every kept upload, oldest first (the order they are indexed in)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = STORED_NAME.match(path.name)
            if match and path.is_file():
                note = self._note(match.group(1))
                found.append(StoredUpload(match.group(1), path, note.get("filename", path.name), note.get("uploaded_at", "")))
        return sorted(found, key=lambda e: (e.uploaded_at, e.digest))

    def _note(self, digest: str) -> dict:
        try:
            note = json.loads((self.folder / f"{digest}.json").read_text(encoding="utf-8"))
            return note if isinstance(note, dict) else {}
        except (OSError, ValueError):
            return {}

    def find(self, doc_id: str) -> StoredUpload | None:
        return next((e for e in self.entries() if e.doc_id == doc_id), None)

    def fingerprint(self) -> bytes:
        """What identifies the uploads for the index's staleness check: names are content hashes, so hashing
        the names and notes is enough (no need to read every original at start-up)."""
        parts = []
        for entry in self.entries():
            parts.append(entry.path.name.encode())
            try:
                parts.append((self.folder / f"{entry.digest}.json").read_bytes())
            except OSError:
                parts.append(b"")
        return b"\0".join(parts)

    def articles(self, taken: set[str], seen_texts: dict[str, str] | None = None) -> list[Article]:
        """The uploads read into Articles for a full build; one that no longer reads is skipped with a warning."""
        seen_texts = seen_texts if seen_texts is not None else {}
        out = []
        for entry in self.entries():
            if entry.doc_id in taken:
                continue
            try:
                article = read_upload(entry.path.read_bytes(), entry.filename)
            except (OSError, ValueError) as err:
                log.warning("upload %s (%s) skipped: %s", entry.path.name, entry.filename, err)
                continue
            if article.text in seen_texts:
                log.warning("upload %s: same text as %s, skipped", entry.filename, seen_texts[article.text])
                continue
            seen_texts[article.text] = entry.filename
            taken.add(article.doc_id)
            out.append(article)
        return out

    # ------------------------------------------------------------ writing (each step atomic by rename)

    def save(self, data: bytes, filename: str, kind: str) -> StoredUpload:
        """Keep an original under its content hash (an existing copy is left as it is, being identical)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.remove_stale_temporaries()
        digest = content_digest(data)
        path = self.folder / f"{digest}.{EXTENSIONS[kind]}"
        label = file_label(filename)
        uploaded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        note = json.dumps({"filename": label, "uploaded_at": uploaded_at, "format": kind, "bytes": len(data)})
        self._write_atomic(self.folder / f"{digest}.json", note.encode("utf-8"))
        if not path.exists():
            self._write_atomic(path, data)
        return StoredUpload(digest, path, label, uploaded_at)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        write_bytes_atomic(path, data, prefix=TEMP_PREFIX)

    def set_aside(self, entry: StoredUpload) -> Path:
        """First step of a removal: the original leaves the store (renamed) but can still be put back."""
        aside = self.folder / f".removed-{entry.path.name}"
        os.replace(entry.path, aside)
        return aside

    def put_back(self, entry: StoredUpload, aside: Path) -> None:
        os.replace(aside, entry.path)

    def discard(self, entry: StoredUpload, aside: Path | None = None, drop_folder: bool = False) -> None:
        """Last step of a removal (or the undoing of an add): the file and its note are gone. `drop_folder`: the
        add being undone made the folder, so it goes too when nothing else is in it."""
        for path in (aside or entry.path, self.folder / f"{entry.digest}.json"):
            path.unlink(missing_ok=True)
        if drop_folder:
            try:
                self.folder.rmdir()  # only when empty
            except OSError:
                pass

    def remove_stale_temporaries(self) -> None:
        """Temporary and set-aside files left by a process that was killed mid-write."""
        for path in [*self.folder.glob(f"{TEMP_PREFIX}*"), *self.folder.glob(".removed-*")]:
            try:
                if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    path.unlink()
            except OSError:
                pass
