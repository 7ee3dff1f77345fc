"""The chat (rag/web/chat.py): its handler, its message HTML and the gradio_client API."""

from __future__ import annotations

from gradio_client import Client

from rag.types import Answer, Citation, Hit, Passage
from rag.web.chat import answer_html, bot_message, make_respond

SEAFOOD = "Why did China ban Japanese seafood?"
EVIL = "<script>alert('xss')</script>"


def test_gradio_client_ask_returns_answer_dict(web_url):
    result = Client(web_url, verbose=False).predict(SEAFOOD, api_name="/ask")
    assert isinstance(result, dict)
    assert {"answer", "abstained", "confidence", "citations"} <= result.keys()


def test_answer_html_escapes_and_links_markers():
    passage = Passage(1, "d1", 3, 0, 20, f"text {EVIL}\n\n & more")
    citation = Citation(1, "d1", EVIL, "/articles/d1#p3", 3, passage.text, "more", 0.9)
    answer = Answer("q", f"Because {EVIL} [1] and [7].", False, 0.8, (citation,), (Hit(passage, EVIL, 0.9, 1),))
    rendered = bot_message(answer_html(answer, {}))["content"]
    assert "<script" not in rendered and "&lt;script&gt;" in rendered
    assert '<a class="rag-cite" href="/articles/d1?q=more#p3"' in rendered
    assert "[7]" in rendered


class FakeAssistant:
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


def test_handler_errors_become_a_message_not_a_traceback():
    _, chat, _ = run_turn(make_respond(FakeAssistant(error=RuntimeError("secret detail"))), "q", [], [])
    assert 'class="rag-error"' in chat[-1]["content"]
    assert "secret detail" not in chat[-1]["content"]
