"""Child process that parses one HTML page (trafilatura) or PDF (pypdf): bytes on stdin, JSON on stdout.

Run only by rag.ingest.readers, as `python -I extract_worker.py html|pdf`, under a time limit it enforces by killing
this process: some files make parsers loop or eat memory, and a child can be killed where a thread cannot.
Deliberately imports nothing from `rag`, so it starts in a fraction of a second."""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings

MEMORY_LIMIT_BYTES = 2 << 30  # address space of this process: a decompression bomb fails here, not the app
# libxml2 stops building the tree at 256 levels and drops what lies deeper, so a page nested that deep
# would lose text silently: refuse it instead. Real pages stay well under 100 levels.
MAX_HTML_DEPTH = 250


class Refused(Exception):
    def __init__(self, kind: str, detail: str = ""):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still applies
        pass


def tree_depth(root) -> int:
    """Deepest element level, walked without recursion (the point is to survive hostile nesting)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def extract_html(data: bytes) -> dict:
    import trafilatura
    from trafilatura.utils import load_html

    tree = load_html(data)
    if tree is None:
        raise Refused("malformed", "no HTML document could be parsed from it")
    if tree_depth(tree) >= MAX_HTML_DEPTH:
        raise Refused("too_deep", f"its markup is nested more than {MAX_HTML_DEPTH} levels deep")
    document = trafilatura.bare_extraction(
        tree, with_metadata=True, include_comments=False, include_tables=False, output_format="python"
    )
    if document is None:
        return {"text": ""}
    fields = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    return {
        "text": fields.get("text") or "",
        "title": fields.get("title") or "",
        "author": fields.get("author") or "",
        "date": fields.get("date") or "",
        "site_name": fields.get("sitename") or "",
        "url": fields.get("url") or "",
    }


def extract_pdf(data: bytes) -> dict:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # readable without a password when only an owner password is set
            except Exception:  # noqa: BLE001 - an unsupported cipher is as closed to us as a password
                opened = 0
            if not opened:
                raise Refused("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except Refused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError) as err:
        raise Refused("malformed", str(err)[:200]) from err
    created = ""
    try:
        when = info.creation_date if hasattr(info, "creation_date") else None
        created = when.date().isoformat() if when else ""
    except Exception:  # noqa: BLE001 - a malformed date string is no reason to refuse the file
        created = ""
    return {
        "pages": pages,
        "title": str(info.get("/Title", "") or ""),
        "author": str(info.get("/Author", "") or ""),
        "date": created,
    }


def main() -> int:
    limit_memory()
    logging.disable(logging.CRITICAL)  # pypdf and trafilatura log every oddity they recover from
    warnings.simplefilter("ignore")
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    data = sys.stdin.buffer.read()
    try:
        if kind == "html":
            result = {"ok": True, **extract_html(data)}
        elif kind == "pdf":
            result = {"ok": True, **extract_pdf(data)}
        else:
            result = {"ok": False, "error": "usage", "detail": f"unknown kind {kind!r}"}
    except Refused as refusal:
        result = {"ok": False, "error": refusal.kind, "detail": refusal.detail}
    except MemoryError:
        result = {"ok": False, "error": "memory", "detail": ""}
    except RecursionError:
        result = {"ok": False, "error": "too_deep", "detail": "its structure is nested too deeply"}
    except Exception as err:  # noqa: BLE001 - any parser failure on hostile input is a refusal, not a crash
        result = {"ok": False, "error": "malformed", "detail": f"{type(err).__name__}: {str(err)[:200]}"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
