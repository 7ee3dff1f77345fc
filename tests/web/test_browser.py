"""The chat in a real browser (Debian's Chromium via Playwright), on a desktop and a phone screen."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.needs_chromium  # without it these tests fail, not skip (conftest; RAG_TEST_OPTIONAL=skip)

from playwright.sync_api import Browser, Page, sync_playwright

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
SEAFOOD = "Why did China ban Japanese seafood?"
SEAFOOD_ANSWER = re.compile(r"Fukushima.*\b(treated|contaminated|radioactive)\b.*\bwater\b|\bwater\b.*Fukushima", re.S)
FOLLOW_UP = "When did that happen?"
FOLLOW_UP_ANSWER = re.compile(r"\b(24 August 2023|late August)\b")
UNANSWERABLE = "Who won the 2022 football world cup?"
TURN = "#rag-chat .rag-turn"
DONE = "#rag-chat .rag-turn:not([data-status=pending])"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_chat(browser: Browser, url: str, viewport: dict, accept_dialogs: bool = False) -> Page:
    """A fresh page on the chat; `page.dialogs` records every alert/confirm the page opens (dismissed, or
    accepted when asked)."""
    page = browser.new_context(viewport=viewport).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []
    answer = (lambda d: d.accept()) if accept_dialogs else (lambda d: d.dismiss())
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), answer(dialog)))
    page.goto(url)
    page.locator("#rag-question textarea").wait_for()
    page.wait_for_function("() => !!window.ragEcho")  # the chat's script is listening
    page.locator("body[data-rag-corpus=loaded]").wait_for(state="attached")  # the page load's articles are in
    return page


@pytest.fixture
def page(browser, web_url):
    page = open_chat(browser, web_url, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser, web_url):
    page = open_chat(browser, web_url, PHONE)
    yield page
    page.context.close()


def ask(page: Page, question: str):
    """Type a question, press Enter, wait for its reply; return the locator of that turn."""
    done = page.locator(DONE).count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[DONE, done])
    page.wait_for_timeout(150)  # the scroll to the new answer runs right after the redraw
    return page.locator(TURN).last


def first_line_is_in_view(page: Page, turn) -> bool:
    """Is the top of the reply inside both the chat's visible area and the window?"""
    return page.evaluate(
        """(turn) => {
            const line = turn.querySelector('.rag-reply > p').getBoundingClientRect();
            const chat = document.querySelector('#rag-chat .rag-log').getBoundingClientRect();
            const bottom = Math.min(chat.bottom, window.innerHeight);
            return line.top >= Math.max(chat.top, 0) && line.top + 20 <= bottom;
        }""",
        turn.element_handle(),
    )


def assert_seafood_answer(turn) -> None:
    assert turn.get_attribute("data-status") == "answered", turn.inner_text()
    assert SEAFOOD_ANSWER.search(turn.locator(".rag-answer").inner_text()), turn.inner_text()


# ---------------------------------------------------------------- answers and their sources


@pytest.mark.parametrize("screen", ["page", "phone"])
def test_answer_cites_fukushima_water_with_its_first_line_in_view(request, screen):
    page = request.getfixturevalue(screen)
    ask(page, "What did Kishida and Xi agree on at the APEC summit?")  # an earlier turn to scroll past
    turn = ask(page, SEAFOOD)
    assert_seafood_answer(turn)
    assert first_line_is_in_view(page, turn)
    link = turn.locator("a.rag-cite").first
    assert re.fullmatch(r"Source 1: .+, paragraph \d+", link.get_attribute("aria-label"))
    assert re.search(r"^/articles/[^?#]+\?q=.+#p\d+$", link.get_attribute("href"))


def test_citation_click_selects_its_source_in_the_panel_and_the_link_opens_the_paragraph(page):
    turn = ask(page, SEAFOOD)
    assert_seafood_answer(turn)
    citation = turn.locator("a.rag-cite").nth(1)
    number = citation.get_attribute("data-source")
    citation.click()
    selected = page.locator("#rag-evidence .rag-source[aria-current=true]")
    assert selected.count() == 1 and selected.get_attribute("data-source") == number
    assert selected.is_visible() and len(page.context.pages) == 1  # a plain click stays on the chat
    open_link = selected.locator("a", has_text="in the article")
    with page.context.expect_page() as opened:
        open_link.click()
    article = opened.value
    article.wait_for_load_state()
    paragraph = citation.get_attribute("href").rsplit("#", 1)[1]
    assert article.evaluate("document.querySelector(':target')?.id") == paragraph
    assert article.locator(f"main p#{paragraph} mark").count() >= 1
    assert article.locator(f"main p#{paragraph}").is_visible()


def test_citation_tap_on_a_phone_opens_the_sources_under_the_answer(phone):
    turn = ask(phone, SEAFOOD)
    assert_seafood_answer(turn)
    assert not turn.locator("details.rag-turn-sources").evaluate("d => d.open")
    turn.locator("a.rag-cite").first.click()
    selected = turn.locator("details.rag-turn-sources .rag-source[aria-current=true]")
    assert selected.is_visible() and selected.get_attribute("data-source") == "1"
    assert SEAFOOD_ANSWER.search(selected.locator("mark").first.inner_text())


def test_follow_up_in_the_browser_is_answered_with_the_conversation(page):
    ask(page, SEAFOOD)
    with_history = ask(page, FOLLOW_UP)
    assert with_history.get_attribute("data-status") == "answered", with_history.inner_text()
    with_text = with_history.locator(".rag-reply").inner_text()  # the locator follows the last turn: read it now
    assert FOLLOW_UP_ANSWER.search(with_history.locator(".rag-answer").inner_text()), with_text
    page.get_by_role("button", name="New chat").click()
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-turn')")
    alone = ask(page, FOLLOW_UP)
    assert alone.locator(".rag-reply").inner_text() != with_text


def test_abstention_lists_related_passages_in_the_panel_without_scores(page):
    turn = ask(page, UNANSWERABLE)
    assert turn.get_attribute("data-status") == "abstained"
    assert turn.locator(".rag-abstain").inner_text() == "No answer was found in the articles."
    panel = page.locator("#rag-evidence")
    assert panel.locator(".rag-evidence-heading").inner_text() == "Related passages (not an answer)"
    assert panel.locator(".rag-source").count() >= 1
    assert not re.search(r"\b0\.\d+|score", panel.inner_text(), re.I)


# ---------------------------------------------------------------- the controls


def test_question_appears_at_once_with_a_progress_line_on_a_slow_network(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1})
    box = page.locator("#rag-question textarea")
    box.fill(SEAFOOD)
    box.press("Enter")
    pending = page.locator("#rag-chat .rag-turn[data-status=pending]")
    pending.locator(".rag-pending[role=status]").wait_for(timeout=1000)  # well before any reply could arrive
    assert pending.locator(".rag-question-text").inner_text().endswith(SEAFOOD)
    page.locator("#rag-chat .rag-turn[data-status=answered]").wait_for()


def open_options(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Search options")).click()
    page.locator("#rag-date-from [data-bound] input").wait_for()  # its script listens from now on
    page.locator("#rag-date-to [data-bound] input").wait_for()


def set_passages(page: Page, value: str) -> None:
    """Type into "Passages to consider" and leave the field, as a person does before asking; the field must
    then hold what was typed (a late redraw of the options would put the old value back)."""
    field = page.locator("#rag-top-k input")
    field.fill(value)
    field.press("Tab")
    page.wait_for_function("([sel, v]) => document.querySelector(sel).value === v", arg=["#rag-top-k input", value])


def in_view(page: Page, locator) -> bool:
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")


@pytest.mark.parametrize("screen", ["page", "phone"])
def test_a_bad_date_range_is_an_announced_message_beside_its_field_and_the_question_stays(request, screen):
    page = request.getfixturevalue(screen)
    open_options(page)
    message = page.locator("#rag-date-from-error")
    # a live region before anything goes wrong: a message appearing in it is read out
    assert message.get_attribute("role") == "alert" and message.get_attribute("aria-live") == "assertive"
    page.locator("#rag-date-from input").fill("2024-05-01")
    page.locator("#rag-date-to input").fill("2020-01-01")
    box = page.locator("#rag-question textarea")
    box.fill(SEAFOOD)
    box.focus()
    page.evaluate("window.scrollTo(0, 0)")  # where someone typing a question is: the options are below the fold
    box.press("Enter")
    message.filter(has_text="is after").wait_for()
    field = page.locator("#rag-date-from input")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#rag-date-to input").get_attribute("aria-invalid") is None
    assert field.get_attribute("aria-describedby") == "rag-date-from-error"
    page.wait_for_timeout(300)
    assert in_view(page, message) and in_view(page, field)  # brought into view, the field focused to fix it
    assert field.evaluate("e => e === document.activeElement")
    gap = page.evaluate(
        """() => {
            const f = document.querySelector('#rag-date-from input').getBoundingClientRect();
            const m = document.querySelector('#rag-date-from-error').getBoundingClientRect();
            return [m.top - f.bottom, Math.abs(m.left - f.left)];
        }"""
    )
    assert 0 <= gap[0] <= 32 and gap[1] <= 16, gap  # right under the field it names
    assert box.input_value() == SEAFOOD and page.locator(TURN).count() == 0
    page.locator("#rag-date-from input").fill("2019-05-01")
    turn = ask(page, SEAFOOD)
    assert turn.get_attribute("data-status") != "pending" and message.inner_text() == ""
    assert field.get_attribute("aria-invalid") is None


def test_date_fields_are_named_and_open_within_the_articles_dates(page, seed_assistant):
    from rag.web.filters import corpus_period

    open_options(page)
    first, last = corpus_period(seed_assistant.articles)
    for name in ("Published from", "Published until"):
        field = page.get_by_label(name, exact=True)
        assert field.get_attribute("type") == "date"
        assert (field.get_attribute("min"), field.get_attribute("max")) == (str(first), str(last))


def test_a_filter_that_excludes_the_answer_abstains_naming_the_filter(page):
    open_options(page)
    page.locator("#rag-date-from input").fill("2017-07-01")
    page.locator("#rag-date-to input").fill("2018-12-31")
    turn = ask(page, SEAFOOD)
    assert turn.get_attribute("data-status") == "abstained"
    assert turn.locator(".rag-abstain").inner_text() == (
        "No answer was found with the filters on (published from 2017-07-01 until 2018-12-31)."
    )


def test_passages_out_of_range_are_clamped_with_a_visible_note(page):
    open_options(page)
    set_passages(page, "25")
    turn = ask(page, SEAFOOD)
    assert "\u201cPassages to consider\u201d goes from 1 to 10: 25 was read as 10." in turn.locator(".rag-note").inner_text()
    assert page.locator("#rag-top-k input").input_value() == "10"
    assert_seafood_answer(turn)


def test_passages_to_consider_1_cites_only_the_first_passage(page, web_url):
    import httpx

    question = SEAFOOD
    first = httpx.post(f"{web_url}/api/ask", json={"question": question, "top_k": 1}, timeout=60).json()["passages"][0]
    open_options(page)
    set_passages(page, "1")
    turn = ask(page, question)
    hrefs = [a.get_attribute("href") for a in turn.locator("a.rag-cite").all()]
    assert hrefs and all(h.split("?")[0] + "#" + h.rsplit("#")[1] == first["url"] for h in hrefs)


def test_markup_in_a_question_runs_nothing(page):
    question = "<img src=x onerror=alert(1)> what about <script>alert(2)</script> seafood?"
    ask(page, question)
    page.wait_for_timeout(500)  # give any injected handler time to fire
    assert page.dialogs == []
    assert page.locator("#rag-chat .rag-question-text").last.text_content() == "You asked: " + question
    assert page.locator("#rag-chat img[src='x']").count() == 0


def test_a_long_question_says_it_was_cut_and_does_not_bury_the_sources(page):
    turn = ask(page, SEAFOOD + " " + "and more " * 600)
    assert "only its first 2,000 were used" in turn.locator(".rag-note").inner_text()
    assert len(turn.locator(".rag-question-text").text_content()) == len("You asked: ") + 2000
    heading = page.locator("#rag-evidence .rag-evidence-for")
    text = heading.inner_text()
    assert text.startswith("For: " + SEAFOOD) and text.endswith("\u2026") and len(text) < 200
    lines = heading.evaluate("e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)")
    assert lines <= 3.1
    assert heading.get_attribute("title").startswith(SEAFOOD)  # the whole question on hover
    assert page.locator("#rag-evidence .rag-source").first.is_visible()
    assert in_view(page, page.locator("#rag-evidence .rag-source").first)


def test_a_right_to_left_override_in_a_question_stays_inside_it(page):
    question = "\u202eWhy did China ban Japanese seafood?"
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-question textarea").press("Enter")
    echoed = page.locator("#rag-chat .rag-turn .rag-question-text bdi")  # the echo, before the reply
    echoed.wait_for()
    turn = page.locator(TURN).last
    page.locator(DONE).wait_for()
    isolated = [turn.locator(".rag-question-text bdi"), page.locator("#rag-evidence .rag-evidence-for bdi")]
    for element in isolated:
        assert element.text_content() == question
        assert element.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    # what follows the question is laid out left to right: "For: " starts the line, the text runs rightwards
    heading = page.locator("#rag-evidence .rag-evidence-for")
    assert heading.evaluate("e => getComputedStyle(e).direction") == "ltr"


def test_ask_with_an_empty_box_says_what_is_missing(page):
    note = page.locator("#rag-composer-note .rag-composer-note")
    assert note.get_attribute("role") == "status" and note.inner_text() == ""
    sent = []  # an empty Ask stays in the browser: a pending request would swallow the next question
    page.on("request", lambda request: sent.append(request.url) if "/gradio_api/" in request.url else None)
    page.get_by_role("button", name="Ask", exact=True).click()
    expect_text(note, "Type a question first, then press Ask.")
    assert note.is_visible() and page.locator(TURN).count() == 0
    assert page.evaluate("document.activeElement === document.querySelector('#rag-question textarea')")
    page.locator("#rag-question textarea").fill("   ")
    page.locator("#rag-question textarea").press("Enter")
    expect_text(note, "Type a question first, then press Ask.")
    page.wait_for_timeout(300)
    assert sent == [] and page.locator("#rag-question textarea").input_value() == "   "
    errors = page.get_by_text("Error", exact=True)
    assert not any(errors.nth(i).is_visible() for i in range(errors.count())), "a status badge"
    ask(page, SEAFOOD)  # at once, as a script would: nothing is pending to swallow it
    assert note.inner_text() == "" and sent


def expect_text(locator, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_text(text)


def test_new_chat_clears_the_conversation_and_the_filters(page, seed_assistant):
    title = seed_assistant.ask(SEAFOOD).citations[0].title
    open_options(page)
    page.locator("#rag-articles input").click()
    page.get_by_role("option", name=title).click()
    page.keyboard.press("Escape")
    assert page.locator("#rag-articles .token").count() == 1  # the chosen article
    page.locator("#rag-date-from input").fill("2017-07-01")
    page.locator("#rag-date-to input").fill("2017-12-31")
    turn = ask(page, SEAFOOD)
    assert "filters" in turn.inner_text() and not SEAFOOD_ANSWER.search(turn.inner_text())  # they were on
    page.get_by_role("button", name="New chat").click()
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-turn')")
    page.wait_for_function(
        """() => !document.querySelector('#rag-date-from input').value
                 && !document.querySelector('#rag-date-to input').value
                 && !document.querySelector('#rag-articles .token')"""
    )
    again = ask(page, SEAFOOD)
    assert_seafood_answer(again)
    assert "filters on" not in again.inner_text()


def test_tabbing_to_the_question_box_shows_a_focus_ring(page):
    page.locator("#rag-header a").focus()
    box = page.locator("#rag-question textarea")
    for _ in range(6):
        page.keyboard.press("Tab")
        if box.evaluate("e => e === document.activeElement"):
            break
    assert box.evaluate("e => e === document.activeElement")
    style = box.evaluate(
        "e => { const s = getComputedStyle(e); return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"
    )
    assert style[0] == "solid" and style[1] >= 2, style


def platform_fonts(page: Page, selector: str) -> set[str]:
    """The fonts Chromium drew the text of the first element matching `selector` with (every fallback too)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}


def test_bold_text_is_drawn_in_one_font_the_regular_texts(page):
    turn = ask(page, SEAFOOD)
    assert_seafood_answer(turn)
    page.evaluate("document.fonts.ready")
    regular = platform_fonts(page, "#rag-header p")
    assert len(regular) == 1 and next(iter(regular)).startswith("Source Sans"), regular  # Source Sans 3 in fact
    for bold in ("#rag-header h1", "#rag-evidence .rag-evidence-heading", "#rag-evidence .rag-source-title"):
        assert platform_fonts(page, bold) == regular, bold


def test_the_article_page_has_the_chats_typeface(browser, web_url, seed_assistant):
    citation = seed_assistant.ask(SEAFOOD).citations[0]
    page = browser.new_context(viewport=DESKTOP).new_page()
    try:
        page.goto(web_url + citation.url)
        page.evaluate("document.fonts.ready")
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Rag Sans"')
        regular = platform_fonts(page, "main p")
        assert len(regular) == 1 and next(iter(regular)).startswith("Source Sans"), regular
        for selector in ("h1", ".meta dt", "nav a"):
            assert platform_fonts(page, selector) == regular, selector
        page.goto(web_url + "/articles")
        page.evaluate("document.fonts.ready")
        assert platform_fonts(page, "ul.articles a") == regular
    finally:
        page.context.close()


# ---------------------------------------------------------------- the phone


def test_phone_tap_targets_width_and_no_sideways_scroll(phone):
    turn = ask(phone, SEAFOOD)
    assert_seafood_answer(turn)
    small = phone.evaluate(
        """() => [...document.querySelectorAll('#rag-chat a, #rag-chat button, #rag-chat summary, #rag-composer button,'
                 + ' #rag-examples button, #rag-header a')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
            .filter(([_, r]) => r.width < 24 || r.height < 24)
            .map(([t, r]) => `${t} ${r.width.toFixed(0)}x${r.height.toFixed(0)}`)"""
    )
    assert small == []
    width = turn.locator(".rag-answer").evaluate("e => e.getBoundingClientRect().width")
    assert width >= 0.85 * PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
