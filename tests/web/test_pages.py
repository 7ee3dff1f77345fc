"""Article pages (rag/web/pages.py): the real app's article view and list, escaping, CSP, 404s."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from rag import Assistant
from rag.types import Article, Paragraph
from rag.web import create_app
from rag.web.pages import render_article_page

EVIL = "<script>alert('xss')</script>"
EVIL_ARTICLE = f"""---
title: Harbour news {EVIL}
author: Jane <img src=x onerror=alert(1)> Doe
publisher: <b>Bold</b> Press
date: 2024-01-02
url: javascript:alert(1)
---
The harbour reopened on Monday after a week of storms, and the fishing fleet went back to sea before dawn.

Officials said the pier needs repairs {EVIL} that will take most of the summer and cost more than planned.

Traders expect prices at the fish market to settle once the boats return with full holds next week.
"""


@pytest.fixture(scope="module")
def http(web_url):
    with httpx.Client(base_url=web_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory, embedder):
    """The app over a one-article corpus whose text and metadata carry markup."""
    seeds = tmp_path_factory.mktemp("evil_seeds")
    (seeds / "harbour.md").write_text(EVIL_ARTICLE, encoding="utf-8")
    evil = Assistant(seeds_dir=seeds, index_dir=tmp_path_factory.mktemp("evil_index"), embedder=embedder)
    return evil, TestClient(create_app(evil))


def a_cited_passage(seed_assistant):
    answer = seed_assistant.ask("Why did China ban Japanese seafood?")
    assert not answer.abstained and answer.citations, answer.text
    return answer.citations[0]


def test_article_view_opens_at_the_cited_paragraph_with_its_text(http, seed_assistant):
    citation = a_cited_passage(seed_assistant)
    url = urlsplit(citation.url)
    assert url.fragment == f"p{citation.paragraph}"
    page = http.get(url.path)
    assert page.status_code == 200
    paragraph = re.search(rf'<p id="{url.fragment}">(.*?)</p>', page.text, re.S)
    assert paragraph, f"no anchor {url.fragment} in the article page"
    words = citation.text.split()[:8]
    assert all(w.replace("&", "&amp;") in paragraph.group(1) for w in words if "<" not in w and '"' not in w)


def test_quote_parameter_marks_exactly_the_quoted_text(http, seed_assistant):
    citation = a_cited_passage(seed_assistant)
    quote = " ".join(citation.text.split()[:6])
    page = http.get(urlsplit(citation.url).path, params={"q": quote})
    assert page.status_code == 200
    marked = re.findall(r"<mark>(.*?)</mark>", page.text, re.S)
    assert [" ".join(html.unescape(m).split()) for m in marked] == [quote]


def test_article_index_lists_every_article(http, seed_assistant):
    page = http.get("/articles")
    assert page.status_code == 200
    assert all(f'href="/articles/{doc_id}"' in page.text for doc_id in seed_assistant.articles)


@pytest.mark.parametrize(
    "path",
    [
        "/articles/no-such-article",
        "/articles/../app.py",
        "/articles/%2e%2e%2fapp.py",
        "/articles/%2e%2e/%2e%2e/etc/passwd",
        "/articles/..%2f..%2fetc%2fpasswd",
        "/articles//etc/passwd",
        "/articles/%2Fetc%2Fpasswd",
        "/articles/seeds%2f000_c5f5a7b9278b21aa.txt",
    ],
)
def test_path_traversal_is_404(web_url, path):
    # httpx would resolve "../" itself; send the path exactly as written
    with httpx.Client() as client:
        request = client.build_request("GET", web_url)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)
    assert response.status_code == 404
    assert "root:" not in response.text and "import" not in response.text


def test_article_with_markup_renders_escaped(evil_client):
    evil, client = evil_client
    (doc_id,) = evil.articles
    page = client.get(f"/articles/{doc_id}")
    assert page.status_code == 200
    assert "&lt;script&gt;" in page.text
    assert "<script" not in page.text and "<img" not in page.text and "<b>" not in page.text
    assert 'href="javascript:' not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # so no inline script may run
    assert page.headers["x-content-type-options"] == "nosniff"
    index = client.get("/articles")
    assert "<script" not in index.text and "&lt;script&gt;" in index.text


def test_a_quote_with_markup_is_marked_but_escaped():
    text = "Before <b>bold</b> after."
    article = Article("d", "T", text, (Paragraph(1, 0, len(text)),))
    page = render_article_page(article, quote="<b>bold</b>")
    assert "<mark>&lt;b&gt;bold&lt;/b&gt;</mark>" in page
    assert "<b>" not in page


def test_sections_become_headings_once():
    text = "One para here.\n\nTwo para here.\n\nThree para here."
    paragraphs = (Paragraph(1, 0, 14, "Background"), Paragraph(2, 16, 30, "Background"), Paragraph(3, 32, 47, "Now"))
    page = render_article_page(Article("d", "T", text, paragraphs), "")
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["Background", "Now"]
    assert [m for m in re.findall(r'<p id="p(\d)">', page)] == ["1", "2", "3"]


def test_the_pages_use_the_chats_fonts_served_by_the_app(http):
    page = http.get("/articles")
    assert '"Rag Sans"' in page.text and "/assets/fonts/SourceSansPro-Bold.woff2" in page.text
    assert "font-src 'self'" in page.headers["content-security-policy"]
    assert "serif;" not in page.text.replace("sans-serif", "")  # no more Georgia / Times
    for name in ("SourceSansPro-Regular.woff2", "SourceSansPro-Bold.woff2"):
        font = http.get(f"/assets/fonts/{name}")
        assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
        assert font.content[:4] == b"wOF2"
    for name in ("SourceSansPro-SemiBold.woff2", "..%2f..%2fpyproject.toml", "chat.css"):
        assert http.get(f"/assets/fonts/{name}").status_code in (403, 404)  # the other fonts, no file at all
