"""Which articles exist, as the chat page shows it: every page load reads the corpus of the moment, whether the
article came through the REST API, another process (`python -m rag add`) or the page itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect

from rag.web import create_app, serve_in_background

from conftest import REPO, port_assistant
from test_browser import DESKTOP, browser, open_chat  # noqa: F401 (fixture)

pytestmark = pytest.mark.needs_chromium  # without it these tests fail, not skip (conftest; RAG_TEST_OPTIONAL=skip)

FERRY = "---\ntitle: Eastport opens ferry line\ndate: 2023-05-09\n---\n\n" + "\n\n".join([
    "The Eastport ferry line to the islands opened on 9 May 2023 with two boats and a new pier.",
    "The harbour master, Tom Okafor, said the line would carry 300 passengers a day in summer.",
])  # fmt: skip
BRIDGE = "---\ntitle: Westport bridge closes for repairs\ndate: 2019-03-02\n---\n\n" + "\n\n".join([
    "The Westport bridge closed on 2 March 2019 for six months of repairs to its steel cables.",
    "Drivers were sent over the old dam road, which adds twenty minutes to the trip into town.",
])  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, embedder):
    """The app over a one-article corpus of its own (undated), and its folders for a second process."""
    root = tmp_path_factory.mktemp("browser-corpus")
    assistant = port_assistant(root, embedder)
    with serve_in_background(create_app(assistant)) as url:
        yield root, url


def cli_add(root, path) -> str:
    """`python -m rag add` in a process of its own, on the app's folders; returns its output."""
    cmd = [sys.executable, "-m", "rag", "--seeds", str(root / "articles"), "--index", str(root / "index"),
           "--uploads", str(root / "uploads"), "add", str(path)]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def open_sections(page) -> None:
    page.get_by_role("button", name="Search options").click()
    page.get_by_role("button", name=re.compile(r"^Articles \(")).click()
    page.locator("#rag-article-list li").first.wait_for()


def expect_corpus(page, count: int, titles: list[str], removable: list[str], period: tuple[str, str] | None) -> None:
    """Every part of the page that depends on the articles agrees with the corpus (the load event fills them)."""
    plural = "" if count == 1 else "s"
    expect(page.locator("#rag-header")).to_contain_text(f"quoted from {count} news article{plural}, each cited")
    expect(page.get_by_role("button", name=re.compile(r"^Articles \("))).to_have_text(
        re.compile(rf"^Articles \({count}\)")
    )
    items = page.locator("#rag-article-list li")
    expect(items).to_have_count(count)
    assert sorted(items.locator("a").all_inner_texts()) == sorted(titles)
    for title in titles:
        remove = items.filter(has_text=title).get_by_role("button", name=f"Remove {title}")
        expect(remove).to_have_count(1 if title in removable else 0)
    page.locator("#rag-articles input").click()  # the article filter offers exactly these
    options = page.get_by_role("option")
    expect(options).to_have_count(count)
    assert sorted(options.all_inner_texts()) == sorted(titles)
    page.keyboard.press("Escape")
    first, last = period or ("", "")
    for field in ("#rag-date-from input", "#rag-date-to input"):
        expect(page.locator(field)).to_have_attribute("min", first)
        expect(page.locator(field)).to_have_attribute("max", last)
    summary = f"({first} to {last})" if period else "No article has a known date."
    expect(page.locator(".prose.rag-date-summary")).to_contain_text(summary)


def test_pages_opened_after_an_api_upload_a_cli_add_and_a_remove_show_the_corpus_of_the_moment(
    browser, corpus, tmp_path
):
    root, url = corpus
    seed = "Northport approves terminal"
    first = open_chat(browser, url, DESKTOP)  # opened before any change
    try:
        open_sections(first)
        expect_corpus(first, 1, [seed], [], None)
    finally:
        first.context.close()

    response = httpx.post(f"{url}/api/articles", files={"file": ("ferry.md", FERRY.encode())}, timeout=300)
    assert response.status_code == 201, response.text
    ferry = response.json()["doc_id"]
    page = open_chat(browser, url, DESKTOP)
    try:
        open_sections(page)
        expect_corpus(page, 2, [seed, "Eastport opens ferry line"], ["Eastport opens ferry line"], ("2023-05-09", "2023-05-09"))
    finally:
        page.context.close()

    (tmp_path / "bridge.md").write_text(BRIDGE, encoding="utf-8")
    cli_add(root, tmp_path / "bridge.md")  # another process publishes a build; the app has not been told
    titles = [seed, "Eastport opens ferry line", "Westport bridge closes for repairs"]
    page = open_chat(browser, url, DESKTOP, accept_dialogs=True)  # the Remove button asks first
    try:
        open_sections(page)
        expect_corpus(page, 3, titles, titles[1:], ("2019-03-02", "2023-05-09"))
        # and the page answers from it: the article the other process added is quoted
        box = page.locator("#rag-question textarea")
        box.fill("Why did the Westport bridge close?")
        box.press("Enter")
        turn = page.locator("#rag-chat .rag-turn:not([data-status=pending])")
        turn.wait_for()
        assert "steel cables" in turn.inner_text()
        # removing it on the page takes it out of every list of this page
        page.locator("#rag-article-list li", has_text="Westport bridge").get_by_role("button").click()
        page.locator("#rag-chat .rag-turn", has_text="Removed \u201cWestport bridge").wait_for()
        expect_corpus(page, 2, titles[:2], titles[1:2], ("2023-05-09", "2023-05-09"))
    finally:
        page.context.close()

    assert httpx.delete(f"{url}/api/articles/{ferry}", timeout=300).status_code == 204
    page = open_chat(browser, url, DESKTOP)  # and of a page opened afterwards
    try:
        open_sections(page)
        expect_corpus(page, 1, [seed], [], None)
    finally:
        page.context.close()
