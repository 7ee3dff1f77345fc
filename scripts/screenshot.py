"""Write docs/screenshot.png: the real app answering the seafood question, with its sources (Debian Chromium)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as `python scripts/screenshot.py` without installing the package
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, SEAFOOD, ask  # noqa: E402  (the tests' browser setup)


def main(out: Path = REPO / "docs" / "screenshot.png") -> int:
    from playwright.sync_api import sync_playwright

    from rag import Assistant
    from rag.web import create_app, serve_in_background

    assistant = Assistant()
    assistant.warm_up()
    with serve_in_background(create_app(assistant)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        ask(page, SEAFOOD)
        page.wait_for_timeout(500)  # let the chat finish its own scrolling first
        # the question and its answer on top, rather than the last source the chat scrolled to
        page.locator("#rag-chat .rag-question").last.evaluate("el => el.scrollIntoView({block: 'start'})")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
