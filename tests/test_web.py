"""Web layer: the real app on a free port (gradio_client, REST, article view), plus its HTML helpers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx
import pytest

from rag.question import MAX_QUESTION_CHARS
from fastapi.testclient import TestClient
from gradio_client import Client

from rag import Assistant
from rag.types import Answer, Article, Citation, Hit, Passage
from rag.web import (
    answer_html,
    article_period,
    bot_message,
    create_app,
    filter_doc_ids,
    make_respond,
    quote_ranges,
    serve_in_background,
)

REPO = Path(__file__).resolve().parent.parent
SEAFOOD = "Why did China ban Japanese seafood?"
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
def base_url(seed_assistant):
    """The real app (conftest's assistant: the repo's seeds, a temporary index) on a free port."""
    with serve_in_background(create_app(seed_assistant)) as url:
        yield url


@pytest.fixture(scope="module")
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def seafood(http):
    response = http.post("/api/ask", json={"question": SEAFOOD})
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory, embedder):
    """The app over a one-article corpus whose text and metadata carry markup."""
    seeds = tmp_path_factory.mktemp("evil_seeds")
    (seeds / "harbour.md").write_text(EVIL_ARTICLE, encoding="utf-8")
    evil = Assistant(seeds_dir=seeds, index_dir=tmp_path_factory.mktemp("evil_index"), embedder=embedder)
    return evil, TestClient(create_app(evil))


# ---------------------------------------------------------------- the running app


def test_gradio_client_ask_returns_answer_dict(base_url):
    result = Client(base_url, verbose=False).predict(SEAFOOD, api_name="/ask")
    assert isinstance(result, dict)
    assert {"answer", "abstained", "confidence", "citations"} <= result.keys()
    assert isinstance(result["citations"], list)


def test_rest_ask_returns_answer_json(seafood):
    assert seafood["question"] == SEAFOOD
    assert {"answer", "abstained", "confidence", "citations", "passages"} <= seafood.keys()
    assert seafood["passages"], "retrieval found nothing for the seafood question"
    if not seafood["abstained"]:
        assert "Fukushima" in seafood["answer"]
        assert all(c["url"].startswith("/articles/") for c in seafood["citations"])


def test_rest_ask_accepts_history_and_top_k(http):
    body = {"question": "And when did that happen?", "history": [SEAFOOD], "top_k": 3}
    response = http.post("/api/ask", json=body)
    assert response.status_code == 200
    assert len(response.json()["passages"]) <= 3


def test_rest_ask_cuts_a_huge_question_and_still_answers(http):
    question = "Why did China ban Japanese seafood? " + "padding " * 10_000  # 80,000+ characters
    response = http.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    data = response.json()
    assert len(data["question"]) <= MAX_QUESTION_CHARS and data["question"].startswith("Why did China ban")


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe",
        b"[" * 100_000,
        b'["a list"]',
        b"{}",
        b'{"question": ""}',
        b'{"question": 42}',
        b'{"question": "q", "history": "not a list"}',
        b'{"question": "q", "history": [1, 2]}',
        b'{"question": "q", "top_k": 0}',
        b'{"question": "q", "top_k": 21}',
        b'{"question": "q", "top_k": "5"}',
        b'{"question": "q", "top_k": true}',
        b'{"question": "q", "top_k": 2.5}',
    ],
)
def test_rest_ask_rejects_malformed_bodies_with_json_4xx(http, content):
    response = http.post("/api/ask", content=content, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}
    assert "Traceback" not in response.text


def test_citation_link_opens_article_at_the_passage(http, seafood):
    # With a composer that abstains, the first related passage stands in for a citation.
    source = seafood["citations"][0] if not seafood["abstained"] else seafood["passages"][0]
    url = urlsplit(source["url"])
    assert url.fragment == f"p{source['paragraph']}"
    page = http.get(url.path)
    assert page.status_code == 200
    paragraph = re.search(rf'<p id="{url.fragment}">(.*?)</p>', page.text, re.S)
    assert paragraph, f"no anchor {url.fragment} in the article page"
    words = source["text"].split()[:8]
    assert all(w.replace("&", "&amp;") in paragraph.group(1) for w in words if "<" not in w and '"' not in w)


def test_quote_parameter_marks_the_quoted_text(http, seafood):
    source = seafood["passages"][0]
    quote = " ".join(source["text"].split()[:6])
    page = http.get(urlsplit(source["url"]).path, params={"q": quote})
    assert page.status_code == 200
    assert "<mark>" in page.text


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
def test_path_traversal_is_404(base_url, path):
    # httpx would resolve "../" itself; send the path exactly as written
    with httpx.Client() as client:
        request = client.build_request("GET", base_url)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)
    assert response.status_code == 404
    assert "root:" not in response.text and "import" not in response.text


# ---------------------------------------------------------------- escaping


def test_article_with_markup_renders_escaped(evil_client):
    evil, client = evil_client
    (doc_id,) = evil.articles
    page = client.get(f"/articles/{doc_id}")
    assert page.status_code == 200
    assert "&lt;script&gt;" in page.text
    assert "<script" not in page.text and "<img" not in page.text and "<b>" not in page.text
    assert 'href="javascript:' not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # so no inline script may run
    index = client.get("/articles")
    assert "<script" not in index.text and "&lt;script&gt;" in index.text


def test_answer_html_escapes_and_links_markers():
    passage = Passage(1, "d1", 3, 0, 20, f"text {EVIL}\n\n & more")
    citation = Citation(1, "d1", EVIL, "/articles/d1#p3", 3, passage.text, "more", 0.9)
    answer = Answer("q", f"Because {EVIL} [1] and [7].", False, 0.8, (citation,), (Hit(passage, EVIL, 0.9, 1),))
    rendered = bot_message(answer_html(answer, {}))["content"]
    assert "<script" not in rendered and "&lt;script&gt;" in rendered
    assert '<a class="rag-cite" href="/articles/d1?q=more#p3"' in rendered
    assert "[7]" in rendered  # a marker with no citation stays text
    assert "<mark>more</mark>" in rendered
    assert "\n" not in rendered  # a blank line would end markdown's HTML block


def test_abstention_lists_related_passages():
    hit = Hit(Passage(1, "d1", 2, 0, 10, "related text"), "Title", 0.5, 1)
    rendered = answer_html(Answer("q", "", True, 0.1, (), (hit,)), {})
    assert 'class="rag-abstain"' in rendered
    assert "Related passages (1)" in rendered and 'href="/articles/d1#p2"' in rendered


def test_quote_ranges_tolerate_reflowed_white_space_and_ellipses():
    text = "One two three.\nFour five six. Seven eight."
    assert [text[s:e] for s, e in quote_ranges(text, "two three. Four \u2026 Seven eight")] == [
        "two three.\nFour",
        "Seven eight",
    ]


# ---------------------------------------------------------------- the chat handler


class FakeAssistant:
    """Records ask() calls; raises when told to, like a broken index would."""

    def __init__(self, articles=None, error=None):
        self.articles = articles or {}
        self.error = error
        self.calls = []

    def ask(self, question, history=None, top_k=None, doc_ids=None):
        self.calls.append((question, history, top_k, doc_ids))
        if self.error:
            raise self.error
        return Answer(question, "", True, 0.0)


def run_turn(respond, message, chat, questions, **filters):
    *_, last = respond(message, chat, questions, filters.get("top_k", 5), filters.get("selected"), None, None)
    return last


def test_follow_up_questions_carry_the_history():
    fake = FakeAssistant()
    respond = make_respond(fake)
    _, chat, questions = run_turn(respond, SEAFOOD, [], [])
    _, chat, questions = run_turn(respond, "  When did it start? ", chat, questions, top_k=3)
    assert fake.calls[1] == ("When did it start?", [SEAFOOD], 3, None)
    assert questions == [SEAFOOD, "When did it start?"]
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"]


def test_user_message_is_escaped():
    _, chat, _ = run_turn(make_respond(FakeAssistant()), "<img src=x onerror=alert(1)>", [], [])
    assert "<img" not in chat[0]["content"] and "&lt;img" in chat[0]["content"]


def test_handler_errors_become_a_message_not_a_traceback():
    _, chat, _ = run_turn(make_respond(FakeAssistant(error=RuntimeError("secret detail"))), "q", [], [])
    assert 'class="rag-error"' in chat[-1]["content"]
    assert "secret detail" not in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]


def test_partial_dates_cover_their_month_or_year():
    def article(day):
        return Article("d", "t", "", (), date=day)

    assert article_period(article("2017-07")) == (date(2017, 7, 1), date(2017, 7, 31))
    assert article_period(article("2016-12")) == (date(2016, 12, 1), date(2016, 12, 31))
    assert article_period(article("2018")) == (date(2018, 1, 1), date(2018, 12, 31))
    assert article_period(article("")) is None and article_period(article("2024-13-45")) is None
    july = {"d": article("2017-07")}
    assert filter_doc_ids(july, None, "2017-07-20", "2017-08-10") == {"d"}
    assert filter_doc_ids(july, None, "2017-08-01") == set()


def test_filters_restrict_to_dated_articles_in_range(seed_assistant):
    articles = seed_assistant.articles
    dated = {d for d, a in articles.items() if article_period(a)}
    assert filter_doc_ids(articles, None) is None
    assert filter_doc_ids(articles, ["x", *list(articles)[:1]]) == set(list(articles)[:1])
    assert filter_doc_ids(articles, None, "1900-01-01", "2999-12-31") == dated
    with pytest.raises(ValueError):
        filter_doc_ids(articles, None, "2024-13-45")
    with pytest.raises(ValueError):
        filter_doc_ids(articles, None, "2024-02-01", "2024-01-01")


# ---------------------------------------------------------------- the launcher


def test_importing_app_loads_neither_gradio_nor_the_model():
    code = "import sys, app; print(sorted(m for m in ('gradio', 'torch', 'rag', 'uvicorn') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_app_host_and_port_come_from_flags_or_environment(monkeypatch):
    import app

    monkeypatch.delenv("RAG_HOST", raising=False)
    monkeypatch.delenv("RAG_PORT", raising=False)
    defaults = app.build_parser().parse_args([])
    assert (defaults.host, defaults.port) == ("127.0.0.1", 7860)
    monkeypatch.setenv("RAG_HOST", "0.0.0.0")
    monkeypatch.setenv("RAG_PORT", "9000")
    from_env = app.build_parser().parse_args([])
    assert (from_env.host, from_env.port) == ("0.0.0.0", 9000)
    assert app.build_parser().parse_args(["--port", "8123"]).port == 8123
    with pytest.raises(SystemExit):
        app.build_parser().parse_args(["--port", "99999"])


def test_concurrent_clients_get_no_errors(base_url):
    from rag.loadtest import default_questions, run_load

    result = run_load(base_url, clients=4, per_client=6, questions=default_questions())
    assert result.requests == 24 and result.errors == 0, result.status_counts
    with pytest.raises(ValueError):
        run_load("http://10.0.0.1:7860", 1, 1, ["q"])
