"""Shared by the upload tests of every face: the bad files each must refuse, and what an add or remove can change."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from rag.assistant import Assistant
from rag.errors import EmptyText, EncryptedPdf, FileTooLarge, MalformedFile, UnsupportedFile
from rag.ingest.readers import MAX_FILE_BYTES

from conftest import FIXTURES
from pdf_maker import make_pdf


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def state(assistant: Assistant) -> tuple:
    """Everything an add or remove could change: the live build, the articles, both folders' files."""
    listing = lambda folder: sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None  # noqa: E731
    articles = sorted(assistant.articles)  # loads (or builds) the index first
    return (assistant.store.current().name, articles, listing(assistant.uploads_dir), listing(assistant.store.folder))


BAD_INPUTS = [
    ("archive.pdf", lambda: zipped("a.txt", b"text"), UnsupportedFile, 415, "ZIP archive"),
    ("program.pdf", lambda: b"\x7fELF\x02\x01\x01" + bytes(500), UnsupportedFile, 415, "executable"),
    ("photo.html", lambda: b"\x89PNG\r\n\x1a\n" + bytes(500), UnsupportedFile, 415, "PNG image"),
    ("huge.txt", lambda: b"word " * (MAX_FILE_BYTES // 5 + 1), FileTooLarge, 413, "20 MB"),
    ("scan.pdf", lambda: make_pdf([[], []]), EmptyText, 422, "text recognition (OCR)"),
    ("menu.html", lambda: b"<html><body><nav><a href=/>Home</a> <a href=/news>News</a></nav></body></html>", EmptyText, 422, "No article text"),
    ("locked.pdf", lambda: (FIXTURES / "pdf" / "libreoffice-writer-password.pdf").read_bytes(), EncryptedPdf, 422, "encrypted"),
    ("broken.pdf", lambda: b"%PDF-1.4\n" + bytes(range(256)) * 40, MalformedFile, 422, "could not be read"),
    ("deep.html", lambda: b"<html><body>" + b"<div>" * 5000 + b"<p>deep text here.</p>" + b"</div>" * 5000 + b"</body></html>",
     MalformedFile, 422, "nested more than"),
    ("empty.txt", lambda: b"", EmptyText, 422, "empty"),
]


def tree(folder: Path) -> dict | None:
    """Every file and folder under `folder`, hidden ones too: relative name -> bytes (None for a folder)."""
    if not folder.exists():
        return None
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def snapshot(assistant) -> tuple:
    return tree(assistant.store.folder), tree(assistant.uploads_dir)


def differences(before: tuple, after: tuple) -> list[str]:
    changed = []
    for label, old, new in zip(("index", "uploads"), before, after):
        if old is None or new is None:
            if old != new:
                changed.append(f"{label} folder {'created' if new is not None else 'removed'}")
            continue
        changed += [f"{label}/{name} added" for name in sorted(new.keys() - old.keys())]
        changed += [f"{label}/{name} removed" for name in sorted(old.keys() - new.keys())]
        changed += [f"{label}/{name} changed" for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    return changed
