"""REST API (rag/web/api.py) on the real app, and the launcher (app.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from rag.answer.question import MAX_QUESTION_CHARS

REPO = Path(__file__).resolve().parents[2]
SEAFOOD = "Why did China ban Japanese seafood?"
# Only a right answer names the plant and the water it released (an abstention or a wrong passage does not).
SEAFOOD_ANSWER = re.compile(r"Fukushima.*\b(treated|contaminated|radioactive)\b.*\bwater\b|\bwater\b.*Fukushima", re.S)
FOLLOW_UP_HISTORY = [SEAFOOD]
FOLLOW_UP = "When did that happen?"
FOLLOW_UP_ANSWER = re.compile(r"\b(24 August 2023|late August)\b")


@pytest.fixture(scope="module")
def http(web_url):
    with httpx.Client(base_url=web_url, timeout=60) as client:
        yield client


def ask(http, **body) -> dict:
    response = http.post("/api/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_cited_answer(data: dict, pattern: re.Pattern, http) -> None:
    """The answer matches what only a right answer says; each [n] is a citation whose link opens its paragraph."""
    assert not data["abstained"], data["answer"]
    assert pattern.search(data["answer"]), data["answer"]
    assert data["citations"], "an answer without citations"
    for citation in data["citations"]:
        assert f"[{citation['number']}]" in data["answer"]
        assert " ".join(citation["quote"].split()) in " ".join(citation["text"].split())
        url = urlsplit(citation["url"])
        assert url.path == f"/articles/{citation['doc_id']}" and url.fragment == f"p{citation['paragraph']}"
        page = http.get(url.path)
        assert page.status_code == 200
        paragraph = re.search(rf'<p id="{url.fragment}">(.*?)</p>', page.text, re.S)
        assert paragraph and citation["text"].split()[0] in paragraph.group(1)


def test_rest_answers_the_seafood_question_with_cited_fukushima_water(http):
    data = ask(http, question=SEAFOOD)
    assert data["question"] == SEAFOOD
    assert_cited_answer(data, SEAFOOD_ANSWER, http)
    assert {"confidence", "passages", "short_answer"} <= data.keys()


def test_rest_follow_up_uses_the_history(http):
    with_history = ask(http, question=FOLLOW_UP, history=FOLLOW_UP_HISTORY)
    without = ask(http, question=FOLLOW_UP)
    assert_cited_answer(with_history, FOLLOW_UP_ANSWER, http)
    assert without["answer"] != with_history["answer"]


def test_rest_top_k_1_draws_every_citation_from_the_first_passage(http):
    question = SEAFOOD  # with five passages the answer also cites a second article stating the same fact
    wide = ask(http, question=question, top_k=5)
    first = (wide["passages"][0]["doc_id"], wide["passages"][0]["paragraph"])
    # the question must be one whose 5-passage answer cites beyond the first passage, or this proves nothing
    assert any((c["doc_id"], c["paragraph"]) != first for c in wide["citations"]), wide["citations"]
    narrow = ask(http, question=question, top_k=1)
    assert len(narrow["passages"]) == 1
    assert narrow["citations"] and all((c["doc_id"], c["paragraph"]) == first for c in narrow["citations"])
    assert narrow["answer"] != wide["answer"]


def test_rest_cuts_a_huge_question_to_its_first_2000_characters(http):
    question = SEAFOOD + " " + "padding " * 10_000  # 80,000+ characters
    data = ask(http, question=question)
    assert len(data["question"]) == MAX_QUESTION_CHARS == 2000
    assert data["question"] == " ".join(question.split())[:MAX_QUESTION_CHARS]


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


def test_rest_top_k_out_of_range_names_the_range(http):
    response = http.post("/api/ask", json={"question": SEAFOOD, "top_k": 25})
    assert response.status_code == 422
    assert response.json()["error"] == "'top_k' must be an integer from 1 to 20"


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


def test_concurrent_clients_get_no_errors(web_url):
    from rag.bench.loadtest import default_questions, run_load

    result = run_load(web_url, clients=4, per_client=6, questions=default_questions())
    assert result.requests == 24 and result.errors == 0, result.status_counts
    with pytest.raises(ValueError):
        run_load("http://10.0.0.1:7860", 1, 1, ["q"])
