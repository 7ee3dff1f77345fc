"""Cleaning rules, each tested on the real seed quirk it exists for."""

import re

import pytest

from rag.ingest.articles import (
    CorpusError,
    clean_article,
    decode_article_bytes,
    drop_repeated_units,
    join_wrapped_lines,
    load_articles,
)

from conftest import SEEDS, examples

FURNITURE = [
    "Post new comment", "8 + 4 =", "Solve this simple math problem", "Contact Us", "Leave a Reply",
    "Share - WeChat", "NNPC Advert", "Photo Credit", "POOL / VIA KYODO", "Image Source:", "Copyright",
    "License for publishing", "Registration Number", "Most Viewed in 24 Hours", "culled from",
    "Global Edition", "中文", "Updated: 2024", "Your email address will not be published",
    "The content of this field is kept private", "0 comments", "Home / Opinion",
    "does not necessarily represent", "More >>",
]


@pytest.fixture(scope="module")
def seeds():
    return {a.doc_id[:3]: a for a in load_articles(SEEDS)}


def test_all_five_seeds_load_with_their_metadata(seeds):
    assert sorted(seeds) == ["000", "001", "002", "003", "004"]
    assert seeds["003"].title == "Kishida and Xi aim for trade progress despite lingering tensions"
    assert seeds["003"].authors == ("Gabriele Ninivaggi", "Gabriel Dominguez")
    assert seeds["003"].url.startswith("https://www.japantimes.co.jp/")
    assert seeds["000"].url == "" and seeds["000"].date == ""  # unknown stays empty


def test_no_furniture_survives_in_any_paragraph(seeds):
    for article in seeds.values():
        for furniture in FURNITURE:
            assert furniture.casefold() not in article.text.casefold(), (article.doc_id, furniture)


def test_hard_wrapped_pdf_lines_are_rejoined_into_paragraphs(seeds):
    article = seeds["001"]
    first = article.paragraph_text(article.paragraphs[1])
    assert "\n" not in article.paragraph_text(article.paragraphs[0])
    assert first.startswith("ON 8 JULY 2017, meeting on the sidelines of the G20 Summit at Hamburg, Germany")
    assert first.endswith("relations.")
    assert "Sino-Japanese ties" in article.text  # a line ending in "Sino-" joins without a space
    assert len(article.paragraphs) == 16


def test_headings_become_sections_not_paragraphs(seeds):
    article = seeds["001"]
    sections = [p.section for p in article.paragraphs]
    assert sections[0] == "Synopsis"
    for heading in ("Commentary", "Growing Warmth in Ties", "The Catalyst", "Road Ahead"):
        assert heading in sections
        assert all(article.paragraph_text(p).strip() != heading for p in article.paragraphs)
    assert {p.section for p in seeds["000"].paragraphs} == {"", "Trade Issue"}


def test_footnote_markers_leave_the_text_but_stay_as_metadata(seeds):
    article = seeds["000"]
    assert not re.search(r"\[\d+\]", article.text)
    assert "opposition to hegemony. These two core principles" in article.text
    assert len(article.footnotes) == 2 and article.footnotes[0].startswith("Gabriele Ninivaggi")


def test_a_paragraph_repeated_inside_another_is_indexed_once(seeds):
    text = seeds["002"].text
    assert text.count("The Korean Peninsula situation has shown improvement") + text.count(
        "the Korean Peninsula situation has shown improvement"
    ) == 1
    assert text.count("Sino-Japanese Ties and the Political Thaw") == 0  # the repeated title is not a paragraph


def test_photo_captions_and_their_credited_copies_are_dropped(seeds):
    assert "shake hands during the APEC summit" not in seeds["003"].text


def test_title_and_byline_come_from_the_text_without_metadata(tmp_path):
    raw = (SEEDS / "004_d2bcfba1eb1cc900.txt").read_text(encoding="utf-8")
    article = clean_article(raw, "opinion.txt")
    assert article.title == "Japan, China should prevent free fall of ties"
    assert article.authors == ("Kiyoshi Sugawa",)
    assert article.date == "2024-05-24"
    assert article.paragraph_text(article.paragraphs[0]).startswith("The distance between Tokyo and Beijing")


def test_honorific_name_line_is_the_author(seeds):
    raw = (SEEDS / "000_c5f5a7b9278b21aa.txt").read_text(encoding="utf-8")
    assert clean_article(raw, "x.txt").authors == ("Rajaram Panda",)


def test_paragraph_offsets_round_trip(seeds):
    for article in seeds.values():
        for p in article.paragraphs:
            assert article.text[p.start : p.end] == article.paragraph_text(p)
            assert article.paragraph_text(p).strip() == article.paragraph_text(p)


def test_markdown_front_matter_and_headings(tmp_path):
    md = "---\ntitle: Front Title\nauthor: A. Writer and B. Writer\ndate: 2020-01-02\n---\n# Ignored heading\n\n" \
         "## Background\n\nThis is the first paragraph of the article, long enough to be running text.\n"
    article = clean_article(md, "note.md")
    assert article.title == "Front Title" and article.authors == ("A. Writer", "B. Writer")
    assert article.paragraphs[0].section == "Background"


def test_latin1_file_is_decoded_with_a_warning(tmp_path, caplog):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "latin.txt").write_bytes("Café politics\n\nThe café in Tōkyō served crème brûlée to visiting ministers every day.".encode("latin-1", "replace"))
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (folder / "empty.txt").write_bytes(b"")
    articles = load_articles(folder)
    assert [a.source_name for a in articles] == ["latin.txt"]
    assert "Café" in articles[0].title
    assert any("latin.txt" in r.message for r in caplog.records)
    assert any("binary.txt" in r.message for r in caplog.records)


def test_a_folder_without_articles_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no usable"):
        load_articles(tmp_path)
    with pytest.raises(CorpusError, match="not found"):
        load_articles(tmp_path / "missing")


def test_small_rules():
    assert join_wrapped_lines(["a Sino-", "Japanese tie ", "and more"]) == "a Sino-Japanese tie and more"
    assert drop_repeated_units(["Same para here.", "Other one.", "Same para here."]) == ["Same para here.", "Other one."]
    assert decode_article_bytes("naïve".encode("utf-8-sig"), "x") == "naïve"


def test_huge_single_line_and_duplicate_articles(tmp_path, caplog):
    folder = tmp_path / "a"
    folder.mkdir()
    good = "Port story\n\nThe harbour board approved the new terminal after a long public debate in the city.\n"
    (folder / "good.txt").write_text(good, encoding="utf-8")
    (folder / "copy-of-good.txt").write_text(good, encoding="utf-8")
    (folder / "oneline.txt").write_text("word and more " * 100_000, encoding="utf-8")  # 1.4 MB, one line
    (folder / "toolarge.txt").write_bytes(b"x" * 6_000_000)
    articles = load_articles(folder)
    names = [a.source_name for a in articles]
    assert "copy-of-good.txt" in names and "good.txt" not in names  # sorted order: the first copy wins
    assert "oneline.txt" in names and "toolarge.txt" not in names
    messages = " ".join(r.message for r in caplog.records)
    assert "good.txt: same text as copy-of-good.txt" in messages and "toolarge.txt" in messages


# ---------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

messy_text = st.text(
    alphabet=st.sampled_from(list("abc XYZ.,;:!?'\"“”’-|[]()/=+0123456789\n\n\t\u00a0\u200b\r#é中🐟")), max_size=600
) | st.text(max_size=300)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=messy_text, name=st.sampled_from(["a.txt", "b.md"]))
def test_cleaning_never_raises_and_offsets_round_trip(raw, name):
    article = clean_article(raw, name)
    assert article.title
    for number, p in enumerate(article.paragraphs, start=1):
        assert p.number == number
        text = article.text[p.start : p.end]
        assert text == text.strip() and text
        assert not re.search(r"\[\d{1,3}\]", text)
    assert article.text == "\n\n".join(article.text[p.start : p.end] for p in article.paragraphs)


def test_a_folder_may_hold_web_pages_and_pdfs_and_sources_toml_still_wins(tmp_path, caplog):
    from pdf_maker import make_pdf
    from corpus_state import zipped

    body = "The harbour authority approved a new container terminal on Monday after a long debate in the council."
    (tmp_path / "page.html").write_text(
        "<!doctype html><html><head><title>Port news</title><meta name='author' content='Jane Roe'></head><body>"
        "<nav><a href='/'>Home</a> <a href='/sport'>Sport</a></nav><article><h1>Port approves terminal</h1>"
        f"<p>{body}</p><p>Critics said the terminal would damage the wetlands south of the city, home to rare birds.</p>"
        "</article><footer>Copyright 2024 Port News. All rights reserved.</footer></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "report.pdf").write_bytes(make_pdf(
        [["Harbour Report", body.replace("Monday", "Tuesday")], ["The mayor welcomed the decision in a statement."]],
        title="Untitled", created="D:20210303000000Z",
    ))
    (tmp_path / "fake.pdf").write_bytes(zipped("a.txt", b"text"))
    (tmp_path / "sources.toml").write_text('["report.pdf"]\ntitle = "The harbour report"\n', encoding="utf-8")
    articles = {a.source_name: a for a in load_articles(tmp_path)}
    assert sorted(articles) == ["page.html", "report.pdf"] and "fake.pdf" in caplog.text and "ZIP archive" in caplog.text
    page, report = articles["page.html"], articles["report.pdf"]
    assert page.paragraph_text(page.paragraphs[0]) == body and "Home" not in page.text and "Copyright" not in page.text
    assert page.authors == ("Jane Roe",) and all(p.page is None for p in page.paragraphs)
    assert (report.title, report.date) == ("The harbour report", "2021-03-03")  # sources.toml over the PDF's own
    assert [p.page for p in report.paragraphs] == [1, 2] and report.origin == "seed"


# ---------------------------------------------------------------- what a reader found, made into an Article

BODY = "The harbour authority approved a new container terminal on Monday after a long debate in the council."
MORE = "Critics said the terminal would damage the wetlands south of the city, home to rare migrating birds."


def test_a_web_page_takes_metadata_given_first_then_its_own_and_keeps_its_url():
    from rag.ingest.articles import SourceMetadata, article_from_document
    from rag.ingest.readers import RawDocument

    page = RawDocument("html", text=f"Port approves terminal\n{BODY}\n{MORE}", title="Port approves terminal",
                       authors=("Jane Roe",), site_name="Port News", date="2024-05-24", url="https://example.org/port")
    article = article_from_document(page, "page.html")
    assert (article.title, article.authors, article.publisher) == ("Port approves terminal", ("Jane Roe",), "Port News")
    assert (article.date, article.url, article.origin) == ("2024-05-24", "https://example.org/port", "seed")
    assert [p.number for p in article.paragraphs] == [1, 2] and article.paragraph_text(article.paragraphs[1]) == MORE
    given = article_from_document(page, "page.html", SourceMetadata(title="Harbour news", publisher="Northport Times"),
                                  origin="upload")
    assert (given.title, given.publisher, given.url) == ("Harbour news", "Northport Times", "https://example.org/port")
    assert given.origin == "upload"


def test_a_document_read_as_markdown_loses_its_heading_marks_whatever_its_name():
    from rag.ingest.articles import article_from_document
    from rag.ingest.readers import RawDocument

    document = RawDocument("markdown", text=f"# Port news\n\n## Background\n\n{BODY}\n")
    article = article_from_document(document, "notes.txt")
    assert article.title == "Port news" and article.paragraphs[0].section == "Background" and "#" not in article.text


def test_ids_come_from_file_names_and_front_matter_gives_the_date():
    from rag.ingest.articles import make_doc_id

    assert make_doc_id("Port News (2024).txt", set()) == "Port-News-2024"
    assert make_doc_id("port.txt", {"port", "port-2"}) == "port-3" and make_doc_id("...txt", set()) == "article"
    assert clean_article(f"Port news\n\n{BODY}\n", "Port News.txt").doc_id == "Port-News"
    md = f"---\ntitle: Front Title\ndate: 2020-01-02\nurl: https://example.org/front\n---\n{BODY}\n"
    article = clean_article(md, "note.md")
    assert (article.title, article.date, article.url) == ("Front Title", "2020-01-02", "https://example.org/front")


def test_a_file_with_no_article_text_is_skipped_with_a_warning(caplog):
    from rag.ingest.articles import article_from_bytes

    assert article_from_bytes(b"Just a title\n", "title-only.txt") is None
    assert [r.getMessage() for r in caplog.records] == ["title-only.txt: no article text found, skipped"]
    assert article_from_bytes(f"Port news\n\n{BODY}\n".encode(), "port.txt").paragraphs
