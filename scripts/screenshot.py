"""Remake docs/screenshot.png (desktop) and docs/screenshot-phone.png: the real app answering the seafood question."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as `python scripts/screenshot.py` without installing the package
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, SEAFOOD, ask  # noqa: E402  (the tests' browser setup)

DOCS = REPO / "docs"


def shoot(browser, url: str, viewport: dict, out: Path, tap_first_citation: bool) -> None:
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(url)
    page.locator("#rag-question textarea").wait_for()
    turn = ask(page, SEAFOOD)
    if tap_first_citation:  # on a phone the sources open under the answer
        turn.locator("a.rag-cite").first.click()
        page.wait_for_timeout(300)
        turn.locator(".rag-question").scroll_into_view_if_needed()
        page.evaluate("() => window.scrollTo(0, 0)")
        page.locator("#rag-chat .rag-log").evaluate("log => { log.scrollTop = 0; }")
    page.screenshot(path=str(out))
    page.context.close()
    print(f"wrote {out}")


def main() -> int:
    from playwright.sync_api import sync_playwright

    from rag import Assistant
    from rag.web import create_app, serve_in_background

    assistant = Assistant()
    assistant.warm_up()
    with serve_in_background(create_app(assistant)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shoot(browser, url, DESKTOP, DOCS / "screenshot.png", tap_first_citation=False)
        shoot(browser, url, PHONE, DOCS / "screenshot-phone.png", tap_first_citation=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
