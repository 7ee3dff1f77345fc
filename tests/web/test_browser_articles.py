"""Adding articles on the chat page in a real browser: upload real files, ask, follow the citation to the page."""

from __future__ import annotations

import re

import pytest

from rag.web import create_app, serve_in_background

from conftest import port_assistant
from test_browser import DESKTOP, PHONE, ask, browser, open_chat  # noqa: F401 (fixture)
from conftest import FIXTURES

pytestmark = pytest.mark.needs_chromium  # without it these tests fail, not skip (conftest; RAG_TEST_OPTIONAL=skip)

ZEN = FIXTURES / "pdf" / "google-doc-document.pdf"
TOOL = FIXTURES / "html" / "phys.org.tool.html"
LOCKED = FIXTURES / "pdf" / "libreoffice-writer-password.pdf"


@pytest.fixture(scope="module")
def port_url(tmp_path_factory, embedder):
    """The app over a one-article corpus of its own, so uploads change nothing any other test sees."""
    assistant = port_assistant(tmp_path_factory.mktemp("browser-articles"), embedder)
    with serve_in_background(create_app(assistant)) as url:
        yield url


def open_articles(page) -> None:
    page.get_by_role("button", name=re.compile(r"^Articles \(")).click()
    page.locator("#rag-upload input[type=file]").wait_for(state="attached")


def upload(page, *paths) -> list[str]:
    """Drop files on the upload control; return the messages the chat shows once all are read."""
    before = page.locator("#rag-chat .rag-turn").count()
    page.locator("#rag-upload input[type=file]").set_input_files([str(p) for p in paths])
    page.locator("#rag-upload-status .rag-spinner").first.wait_for()  # the progress line while it works
    page.wait_for_function(
        "([n, k]) => document.querySelectorAll('#rag-chat .rag-turn').length >= n + k"
        " && !document.querySelector('#rag-upload-status .rag-spinner')",
        arg=[before, len(paths)],
    )
    return [t.inner_text() for t in page.locator("#rag-chat .rag-turn").all()[before:]]


def test_upload_a_pdf_ask_and_follow_the_citation_to_its_page_and_paragraph(browser, port_url):
    page = open_chat(browser, port_url, DESKTOP)
    try:
        open_articles(page)
        messages = upload(page, ZEN, LOCKED)
        assert messages[0] == "Added \u201cPDF Example Document\u201d from google-doc-document.pdf (13 paragraphs). You can ask about it now."
        assert messages[1].startswith("\u201clibreoffice-writer-password.pdf\u201d was not added.") and "encrypted" in messages[1]
        listed = page.locator("#rag-article-list li", has_text="PDF Example Document")
        assert listed.get_attribute("data-source") == "upload" and listed.get_by_role("button", name=re.compile("Remove")).count() == 1
        assert page.locator("#rag-article-list li[data-source=seed] button").count() == 0

        turn = ask(page, "What is better than ugly?")
        assert turn.get_attribute("data-status") == "answered", turn.inner_text()
        assert re.search(r"^Beautiful is better than ugly\.", turn.locator(".rag-answer").inner_text(), re.M)
        cite = turn.locator("a.rag-cite").first
        assert re.fullmatch(r"Source 1: PDF Example Document, page 1, paragraph 1", cite.get_attribute("aria-label"))
        cite.click()
        card = page.locator("#rag-evidence .rag-source[aria-current=true]")
        link = card.get_by_role("link", name="Open page 1, paragraph 1 in the article")
        with page.context.expect_page() as opened:
            link.click()
        article = opened.value
        article.wait_for_load_state()
        target = article.locator("main p:target")
        assert target.get_attribute("id") == "p1" and target.get_attribute("data-page") == "1"
        assert target.locator(".page").inner_text() == "page 1"
        assert target.locator("mark").inner_text() == "Beautiful is better than ugly."
    finally:
        page.context.close()


def test_upload_on_a_phone_then_remove_it_from_the_list(browser, port_url):
    page = open_chat(browser, port_url, PHONE, accept_dialogs=True)  # "Remove …? Its file and passages are deleted."
    try:
        open_articles(page)
        (message,) = upload(page, TOOL)
        assert message.startswith("Added \u201cFlint flake tool")
        small = page.evaluate(
            """() => [...document.querySelectorAll('#rag-article-list a, #rag-article-list button')]
                .map(e => e.getBoundingClientRect()).filter(r => r.width < 24 || r.height < 24).length"""
        )
        assert small == 0  # tap targets of at least 24 x 24 px
        turn = ask(page, "How old is the flint tool found on Zandmotor beach?")
        assert re.search(r"approximately 50,000 years old", turn.locator(".rag-answer").inner_text())
        page.locator("#rag-article-list li", has_text="Flint flake tool").get_by_role("button").click()
        page.locator("#rag-chat .rag-turn", has_text="Removed \u201cFlint flake tool").wait_for()
        assert page.dialogs == ["Remove \u201cFlint flake tool partially covered by birch tar adds to evidence of "
                                "Neanderthal complex thinking\u201d? Its file and its passages are deleted."]
        assert page.locator("#rag-article-list li", has_text="Flint flake tool").count() == 0
        after = ask(page, "How old is the flint tool found on Zandmotor beach?")
        assert not re.search(r"50,000 years", after.inner_text())
    finally:
        page.context.close()
