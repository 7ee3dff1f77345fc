"""Readers: the format told by content, the real fixtures' text and metadata, and every refusal's message."""

import gzip
import pytest

from rag.errors import EmptyText, EncryptedPdf, FileTooLarge, MalformedFile, UnsupportedFile
from rag.ingest.readers import MAX_FILE_BYTES, detect_format, pdf_page_text, read_document

from conftest import FIXTURES
from corpus_state import zipped
from pdf_maker import make_pdf

TEXT = b"The harbour authority approved a new container terminal on Monday after a long debate.\n"




@pytest.mark.parametrize(
    "data, kind",
    [
        (make_pdf([["A line."]]), "pdf"),
        (b"\n\n<!DOCTYPE html><html><body><p>x</p></body></html>", "html"),
        (b"<!-- saved from url -->\n<html lang=en><p>x</p></html>", "html"),
        (b"\xef\xbb\xbf<html><p>x</p></html>", "html"),
        (b"---\ntitle: A\n---\nBody text.", "markdown"),
        (b"# Heading\n\nBody text.", "markdown"),
        (TEXT, "text"),
        (b"A text that mentions <html> in passing is still text.", "text"),
    ],
)
def test_the_format_is_told_by_content(data, kind):
    assert detect_format(data) == kind


@pytest.mark.parametrize(
    "data, named",
    [
        (zipped("article.txt", TEXT), "ZIP archive"),
        (gzip.compress(TEXT), "gzip archive"),
        (b"\x7fELF\x02\x01\x01" + bytes(200), "executable (ELF)"),
        (b"MZ\x90\x00" + bytes(200), "Windows executable"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (bytes(range(256)) * 4, "binary data"),
    ],
)
def test_archives_executables_and_binaries_are_refused_whatever_their_name(data, named):
    with pytest.raises(UnsupportedFile) as caught:
        read_document(data, "article.pdf")
    assert caught.value.status == 415
    assert named in str(caught.value) and "HTML page, a PDF" in str(caught.value)


def test_a_file_over_the_limit_is_refused_before_it_is_read():
    with pytest.raises(FileTooLarge) as caught:
        read_document(TEXT * (MAX_FILE_BYTES // len(TEXT) + 1))
    assert caught.value.status == 413 and "up to 20 MB" in str(caught.value)


def test_an_empty_file_is_refused():
    with pytest.raises(EmptyText) as caught:
        read_document(b" \n\t\n")
    assert caught.value.status == 422 and "empty" in str(caught.value)


def test_the_encrypted_fixture_is_refused_with_a_clear_message():
    with pytest.raises(EncryptedPdf) as caught:
        read_document((FIXTURES / "pdf" / "libreoffice-writer-password.pdf").read_bytes())
    assert caught.value.status == 422
    assert "encrypted" in str(caught.value) and "password" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref\n%%EOF",
        make_pdf([["A line of text."]])[:300],  # truncated mid-file
        b"%PDF-1.4\n" + bytes(range(256)) * 50,  # a header, then noise
    ],
)
def test_a_malformed_pdf_is_refused(data):
    with pytest.raises(MalformedFile) as caught:
        read_document(data)
    assert caught.value.status == 422 and "could not be read" in str(caught.value)


def test_a_parse_that_outlives_its_time_limit_is_stopped_and_refused():
    data = make_pdf([[f"Line {n} of a long report on the harbour works." for n in range(60)]] * 200)
    with pytest.raises(MalformedFile) as caught:
        read_document(data, time_limit=0.2)
    assert caught.value.status == 422 and "took longer than 0.2 s" in str(caught.value)


def test_html_nested_deeper_than_the_parser_keeps_is_refused():
    page = b"<html><head><title>Deep</title></head><body>" + b"<div>" * 400 + TEXT + b"</div>" * 400 + b"</body></html>"
    with pytest.raises(MalformedFile) as caught:
        read_document(page)
    assert caught.value.status == 422 and "nested more than" in str(caught.value)


def test_ligatures_become_plain_letters():
    assert pdf_page_text("ﬁnance and ﬂows, ﬀ") == "finance and flows, ff"


def test_pdf_document_information_gives_title_author_and_date():
    data = make_pdf([["A line of text."]], title="Harbour report", author="Jane Roe; John Doe", created="D:20210303100000Z")
    document = read_document(data)
    assert (document.format, document.title, document.authors, document.date) == (
        "pdf", "Harbour report", ("Jane Roe", "John Doe"), "2021-03-03"
    )
    assert read_document(make_pdf([["x y."]], title="Microsoft Word - draft.docx")).title == ""  # a file name


HTML_FIXTURES = {
    "nature.com.telescope.html": ("Gigantic Chinese telescope opens to astronomers worldwide", "2019-09-24", "Nature"),
    "phys.org.tool.html": (
        "Flint flake tool partially covered by birch tar adds to evidence of Neanderthal complex thinking",
        "2019-10-22", "Phys.org",
    ),
    "salon.com.emissions.html": ("Despite everything, U.S. emissions dipped in 2019", "2020-01-10", "Salon.com"),
    "vancouversun.com.microsoft.html": (
        "Microsoft moves to erase its carbon footprint from the atmosphere in climate push", "2020-01-16", "Vancouver Sun",
    ),
}


@pytest.mark.parametrize("name", sorted(HTML_FIXTURES))
def test_saved_pages_give_their_title_date_site_and_canonical_url(name):
    title, date, site = HTML_FIXTURES[name]
    document = read_document((FIXTURES / "html" / name).read_bytes(), name)
    assert (document.format, document.title, document.date, document.site_name) == ("html", title, date, site)
    assert document.url.startswith("https://") and name.split(".")[0] in document.url
