"""Hand-made PDFs for tests: real PDF files (read by the real pypdf) whose text is known line by line."""

from __future__ import annotations


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str = "", author: str = "", created: str = "") -> bytes:
    """A PDF whose page i shows the lines pages[i], top to bottom, in Helvetica 10 pt. A page given as []
    has no text at all, like a scan without a text layer (it draws a grey rectangle instead)."""
    objects: list[bytes] = []
    page_ids = []
    for lines in pages:
        if lines:
            ops = ["BT", "/F1 10 Tf", "12 TL", "50 800 Td"] + [f"({escape(line)}) Tj T*" for line in lines] + ["ET"]
        else:
            ops = ["0.5 g", "50 50 500 700 re f"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_id = len(objects) + 3  # ids 1-3: catalog, pages, font
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % content_id)
        page_ids.append(len(objects) + 3)
    kids = " ".join(f"{i} 0 R" for i in page_ids).encode()
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    info = {"Title": title, "Author": author, "CreationDate": created}
    info_entries = " ".join(f"/{k} ({escape(v)})" for k, v in info.items() if v).encode("latin-1")
    everything = head + objects + ([b"<< %s >>" % info_entries] if info_entries else [])
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(everything, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(everything) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info_ref = b" /Info %d 0 R" % len(everything) if info_entries else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(everything) + 1, info_ref, xref)
    return bytes(out)
