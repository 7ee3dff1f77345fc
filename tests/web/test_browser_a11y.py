"""Accessibility in a real browser: axe-core (the standard engine) on the chat and the article page."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from test_browser import DESKTOP, PHONE, SEAFOOD, UNANSWERABLE, ask, browser, open_chat  # noqa: F401 (fixture)

pytestmark = pytest.mark.needs_chromium  # without it these tests fail, not skip (conftest; RAG_TEST_OPTIONAL=skip)

AXE_OPTIONS = {
    "runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    # experimental in axe-core 4.x, so off unless asked for: a control's name must contain the words it shows
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}
BLOCKING = {"serious", "critical"}


def violations(page) -> list[str]:
    """Every axe-core violation as 'rule (impact): first element', the blocking ones marked."""
    results = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in results]


def blocking(found: list[str]) -> list[str]:
    return [v for v in found if any(f"({impact})" in v for impact in BLOCKING)]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_chat_has_no_serious_axe_violation_empty_answered_or_abstained(browser, web_url, viewport):
    page = open_chat(browser, web_url, viewport)
    try:
        assert blocking(violations(page)) == [], "empty chat"
        ask(page, SEAFOOD)
        assert blocking(violations(page)) == [], "after an answer"
        ask(page, UNANSWERABLE)
        assert blocking(violations(page)) == [], "after an abstention"
        page.get_by_role("button", name="Search options").click()
        page.locator("#rag-date-from input").wait_for()
        assert blocking(violations(page)) == [], "with the search options open"
        page.get_by_role("button", name=re.compile(r"^Articles \(")).click()
        page.locator("#rag-article-list li").first.wait_for()
        assert blocking(violations(page)) == [], "with the articles open"
    finally:
        page.context.close()


def test_chat_in_the_dark_theme_has_no_serious_axe_violation(browser, web_url):
    page = browser.new_context(viewport=DESKTOP, color_scheme="dark").new_page()
    try:
        page.goto(web_url)
        page.locator("#rag-question textarea").wait_for()
        page.wait_for_function("() => !!window.ragEcho")
        ask(page, SEAFOOD)
        page.get_by_role("button", name="Search options").click()
        page.locator("#rag-date-from input").wait_for()
        assert blocking(violations(page)) == []
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_article_page_has_no_serious_axe_violation(browser, web_url, seed_assistant, viewport):
    citation = seed_assistant.ask(SEAFOOD).citations[0]
    page = browser.new_context(viewport=viewport).new_page()
    try:
        page.goto(web_url + citation.url.replace("#", "?q=late+August#"))
        assert blocking(violations(page)) == []
        page.goto(web_url + "/articles")
        assert blocking(violations(page)) == []
    finally:
        page.context.close()


def test_messages_are_text_and_inputs_have_names(browser, web_url):
    page = open_chat(browser, web_url, DESKTOP)
    try:
        ask(page, SEAFOOD)
        tree = page.locator("#rag-chat").aria_snapshot()
        assert "<" not in tree and 'class="' not in tree
        assert 'link "Source 1: ' in tree and "Fukushima" in tree
        assert page.get_by_role("textbox", name="Your question").count() == 1
        assert page.get_by_role("button", name="Ask", exact=True).count() == 1
        page.get_by_role("button", name="Search options").click()
        page.locator("#rag-date-from input").wait_for()
        assert page.get_by_role("textbox", name="Published from").count() == 1
        assert page.get_by_role("spinbutton", name="Passages to consider (1\u201310)").count() == 1
    finally:
        page.context.close()
