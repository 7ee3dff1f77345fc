"""The chat in a real browser (Debian's Chromium via Playwright): an answer, its source link, no XSS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.needs_chromium  # without it these tests fail, not skip (conftest; RAG_TEST_OPTIONAL=skip)

from playwright.sync_api import Page, sync_playwright

from rag.web import create_app, serve_in_background

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SEAFOOD = "Why did China ban Japanese seafood?"
REPLY = "#rag-chat .rag-answer, #rag-chat .rag-abstain, #rag-chat .rag-notice, #rag-chat .rag-error"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def base_url(seed_assistant):
    with serve_in_background(create_app(seed_assistant)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []  # every alert/confirm the page tries to open
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base_url)
    yield page
    context.close()


def ask(page: Page, question: str, replies_before: int = 0):
    """Type a question, press Enter, and return the locator of the bot's reply."""
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[REPLY, replies_before]
    )
    return page.locator(REPLY).nth(replies_before)


def test_answer_links_to_the_cited_paragraph(page):
    reply = ask(page, SEAFOOD)
    reply_class = reply.get_attribute("class")
    if "rag-answer" in reply_class:
        assert "Fukushima" in reply.inner_text()
        link = page.locator("#rag-chat a.rag-cite").first
    else:  # the composer abstained: the related passages are still listed with links
        assert "rag-abstain" in reply_class, reply.inner_text()
        assert page.locator("#rag-chat li.rag-source").count() > 0
        link = page.locator("#rag-chat a.rag-open").first
    href = link.get_attribute("href")
    assert "/articles/" in href and "#p" in href
    with page.context.expect_page() as opened:  # citation links open the article beside the chat
        link.click()
    article = opened.value
    article.wait_for_load_state()
    paragraph = href.rsplit("#", 1)[1]
    target = article.locator(f"main p#{paragraph}")
    assert target.is_visible()
    assert article.evaluate("document.querySelector(':target')?.id") == paragraph
    assert article.locator("header h1").inner_text()


def test_markup_in_a_question_runs_nothing(page):
    question = "<img src=x onerror=alert(1)> what about <script>alert(2)</script> seafood?"
    ask(page, question)
    page.wait_for_timeout(500)  # give any injected handler time to fire
    assert page.dialogs == []
    assert page.locator("#rag-chat .rag-question").last.inner_text() == question
    assert page.locator("#rag-chat img[src='x']").count() == 0
