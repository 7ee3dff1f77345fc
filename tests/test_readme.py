"""The README's examples run (issue 18): its Python API block, its curl calls and its gradio_client block are
taken from README.md itself, run against the default corpus, and what they return has the shape the README
shows (fields present, their types). Values that change with the model (answers, confidences) are `…` there."""

from __future__ import annotations

import ast
import inspect
import json
import re
import shlex

import httpx
from fastapi.testclient import TestClient

from rag import Assistant
from rag.types import Answer, Citation, Hit, ShortAnswer
from rag.web import create_app

from conftest import FIXTURES, REPO, port_assistant

README = (REPO / "README.md").read_text(encoding="utf-8")
README_URL = "http://127.0.0.1:7860"


def section(title: str) -> str:
    """The text of a `## title` section, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def curl_calls(text: str) -> list[list[str]]:
    """Every curl command of the section's shell blocks, continuation lines joined, split as a shell would."""
    calls = []
    for block in blocks(text, "sh"):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("curl "):
                calls.append(shlex.split(command.split("#")[0] if " #" in command else command))
    return calls


def parse_curl(words: list[str]) -> dict:
    call = {"method": "GET", "headers": {}, "data": None, "form": {}, "url": None}
    rest = iter(words[1:])
    for word in rest:
        if word == "-s":
            continue
        elif word == "-X":
            call["method"] = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            call["headers"][name.strip()] = value.strip()
        elif word == "-d":
            call["data"] = next(rest)
            call["method"] = "POST" if call["method"] == "GET" else call["method"]
        elif word == "-F":
            name, _, value = next(rest).partition("=")
            call["form"][name] = value
            call["method"] = "POST" if call["method"] == "GET" else call["method"]
        else:
            assert word.startswith(README_URL), f"unexpected curl word {word!r}"
            call["url"] = word[len(README_URL):]
    return call


def readme_json(text: str):
    """A JSON block of the README, its bare `…` placeholders (outside strings) read as "any value" (None)."""
    out, in_string, escaped = [], False, False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == "…":
            out.append("null")
        else:
            out.append(char)
    return json.loads("".join(out))


def assert_shape(shown, actual, where: str = "response") -> None:
    """`actual` has exactly the fields `shown` has, each of the type shown; a null (or `…`) in `shown` is any
    value, a `[…]` any list."""
    if shown is None:
        return
    if isinstance(shown, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert set(actual) == set(shown), f"{where}: fields {sorted(actual)} but the README shows {sorted(shown)}"
        for key, value in shown.items():
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        if shown and shown != [None]:
            assert actual, f"{where}: empty, the README shows items"
            for item in actual:
                assert_shape(shown[0], item, f"{where}[]")
    elif isinstance(shown, bool):
        assert isinstance(actual, bool), f"{where}: {actual!r} is not a boolean"
    elif isinstance(shown, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: {actual!r}"
    else:
        assert isinstance(actual, type(shown)), f"{where}: {actual!r} is not a {type(shown).__name__}"


def field_names(pattern: str) -> set[str]:
    """The field names of a `{"a", "b", …}` the README's prose gives after `pattern`."""
    match = re.search(pattern + r"\s*`\{([^}]*)\}`", " ".join(README.split()))
    assert match, pattern
    return set(re.findall(r'"(\w+)"', match.group(1).split(":")[0] if ":" in match.group(1) else match.group(1)))


def assert_answer_fields(data: dict) -> None:
    """What the README's prose says of the values it leaves as `…`."""
    assert 0.0 <= data["confidence"] <= 1.0
    for citation in data["citations"]:
        assert 0.0 <= citation["score"] <= 1.0
        assert isinstance(citation["paragraph"], int) and citation["paragraph"] >= 1
        assert citation["page"] is None or isinstance(citation["page"], int)
        assert citation["url"] == f"/articles/{citation['doc_id']}#p{citation['paragraph']}"
    short = data["short_answer"]
    assert short is None or (isinstance(short, dict) and isinstance(short["text"], str) and short["text"])


def test_the_readme_shows_no_figure_or_answer_that_no_test_checks():
    """Answers, confidences and short answers change with the model: the README shows them as `…`."""
    shown = readme_json(blocks(README[README.index("/api/ask -H"):], "json")[0])
    assert shown["confidence"] is None and shown["short_answer"] is None
    assert shown["answer"].replace("[1]", "").strip() == "…"
    assert all(c[key] is None for c in shown["citations"] for key in ("paragraph", "score"))
    (code,) = blocks(section("Python API"), "python")
    comments = [line.split("#", 1)[1] for line in code.splitlines() if "#" in line]
    assert not [c for c in comments if re.search(r"\b0\.\d|'[^'…]+'", c)], "a figure or a quoted answer"


# ---------------------------------------------------------------- the Python API block


def test_the_python_api_example_runs_and_returns_what_it_shows(seed_assistant):
    (code,) = blocks(section("Python API"), "python")
    made = []

    def assistant(*args, **kwargs):
        """Assistant(...) of the example: its arguments must be Assistant's; the session's seed assistant (the
        repository's seeds, its index built once) stands in, so the example writes nothing into index/."""
        inspect.signature(Assistant).bind(*args, **kwargs)
        made.append(kwargs)
        return seed_assistant

    namespace = {"__name__": "readme_example"}
    for statement in ast.parse(code).body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "rag":
            namespace["Assistant"] = assistant
            continue
        exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
    assert len(made) == 2

    hits = namespace["hits"]
    assert hits and all(isinstance(h, Hit) for h in hits) and len(hits) <= 5
    first = hits[0]
    assert isinstance(first.text, str) and isinstance(first.doc_id, str) and isinstance(first.title, str)
    assert isinstance(first.paragraph, int) and isinstance(first.score, float) and isinstance(first.url, str)

    seafood = seed_assistant.ask("Why did China ban Japanese seafood?")
    assert isinstance(seafood, Answer) and isinstance(seafood.text, str)
    assert seafood.abstained is False  # the README's `False`
    assert isinstance(seafood.confidence, float) and 0.0 <= seafood.confidence <= 1.0
    citation = seafood.citations[0]
    assert isinstance(citation, Citation) and isinstance(citation.quote, str) and isinstance(citation.paragraph, int)
    for answer in (seafood, seed_assistant.ask("When was the Japan-China Treaty of Peace and Friendship signed?")):
        assert answer.short_answer is None or isinstance(answer.short_answer, ShortAnswer)
    assert isinstance(namespace["ans"], Answer)  # the follow-up


# ---------------------------------------------------------------- REST: the curl calls


def test_the_readme_calls_are_the_ones_tested_here():
    """Every curl call of the README is one of these; a new one needs its check below."""
    calls = [parse_curl(words) for words in curl_calls(README)]
    assert [(c["method"], c["url"].split("upload-")[0]) for c in calls] == [
        ("POST", "/api/articles"), ("DELETE", "/api/articles/"), ("POST", "/api/ask"),
    ]


def test_the_rest_ask_example_returns_the_shape_shown(web_url):
    (call,) = [parse_curl(w) for w in curl_calls(README) if "/api/ask" in " ".join(w)]
    assert call["headers"] == {"content-type": "application/json"}
    shown = readme_json(blocks(README[README.index("/api/ask -H"):], "json")[0])
    body = json.loads(call["data"])
    response = httpx.request(call["method"], web_url + call["url"], json=body, timeout=120)
    assert response.status_code == 200, response.text
    data = response.json()
    assert_shape(shown, data)
    assert data["question"] == shown["question"] == body["question"]
    assert len(data["passages"]) <= body["top_k"]
    assert_answer_fields(data)


def test_the_rest_article_examples_add_list_and_remove(tmp_path, embedder):
    """`curl -F file=@page.html …` then `curl -X DELETE …/upload-…`, on an app of its own (a real saved page as
    page.html): the answers the README's prose gives, with their fields."""
    port = port_assistant(tmp_path, embedder)
    client = TestClient(create_app(port, host="127.0.0.1"))
    add, remove = [parse_curl(w) for w in curl_calls(section("Web app and HTTP API")) if "/api/articles" in " ".join(w)]
    assert add["form"] == {"file": "@page.html"}
    page = (FIXTURES / "html" / "nature.com.telescope.html").read_bytes()
    added = client.request(add["method"], add["url"], files={"file": ("page.html", page)})
    assert added.status_code == 201, added.text
    assert set(added.json()) == field_names(r"answers 201")
    listed = client.get("/api/articles").json()
    assert all(set(entry) == field_names(r"`GET /api/articles` lists") for entry in listed)
    assert {entry["source"] for entry in listed} == {"seed", "upload"}
    doc_id = added.json()["doc_id"]
    assert re.fullmatch(r"upload-[0-9a-f]+", doc_id) and remove["url"].startswith("/api/articles/upload-")
    removed = client.request(remove["method"], f"/api/articles/{doc_id}")
    assert removed.status_code == 204


# ---------------------------------------------------------------- gradio_client


def test_the_gradio_client_example_runs_and_returns_a_plain_dict(web_url):
    (code,) = [b for b in blocks(README, "python") if "gradio_client" in b]
    assert README_URL in code
    namespace = {"__name__": "readme_example"}
    exec(compile(code.replace(README_URL, web_url), "README.md", "exec"), namespace)
    result = namespace["result"]
    shown = readme_json(blocks(README[README.index("/api/ask -H"):], "json")[0])
    assert isinstance(result, dict)
    assert_shape(shown, result)
    assert_answer_fields(result)
