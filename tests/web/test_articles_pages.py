"""The article collection over REST (rag/web/api.py, rag/web/access.py): list, add, remove, who may write."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rag.web import create_app
from rag.web.access import TOKEN_ENV, is_loopback, write_access

from conftest import port_assistant
from conftest import FIXTURES
from corpus_state import BAD_INPUTS, state

TELESCOPE = FIXTURES / "html" / "nature.com.telescope.html"
ZEN = FIXTURES / "pdf" / "google-doc-document.pdf"
TOKEN = "s3cret-admin-token"


@pytest.fixture(scope="module")
def port(tmp_path_factory, embedder):
    """A small corpus of its own (one seed article), its index and uploads folder: writes here touch nothing else."""
    return port_assistant(tmp_path_factory.mktemp("web-articles"), embedder)


@pytest.fixture(scope="module")
def local(port):
    """The app as `make run` serves it: bound to 127.0.0.1, so writes are open."""
    return TestClient(create_app(port, host="127.0.0.1"))


def upload(client, path, name=None, data=None, headers=None):
    content = path.read_bytes() if data is None else data
    return client.post("/api/articles", files={"file": (name or path.name, content)}, headers=headers or {})


def ask(client, question):
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    return response.json()


# ---------------------------------------------------------------- listing, adding, removing


def test_list_gives_every_article_with_its_source(local, port):
    listed = local.get("/api/articles").json()
    assert [a["doc_id"] for a in listed] == sorted(port.articles)
    (seed,) = listed
    assert seed == {"doc_id": seed["doc_id"], "title": "Northport approves terminal", "authors": ["Jane Roe"],
                    "date": "", "source": "seed"}  # fmt: skip


def test_a_saved_page_is_added_answered_next_and_removed(local, port):
    response = upload(local, TELESCOPE)
    assert response.status_code == 201, response.text
    added = response.json()
    assert added["title"] == "Gigantic Chinese telescope opens to astronomers worldwide"
    assert added["paragraphs"] == len(port.articles[added["doc_id"]].paragraphs) > 5
    assert response.headers["location"] == f"/articles/{added['doc_id']}"
    listed = {a["doc_id"]: a for a in local.get("/api/articles").json()}
    assert listed[added["doc_id"]]["source"] == "upload" and listed[added["doc_id"]]["date"] == "2019-09-24"

    answer = ask(local, "How many pulsars did the telescope discover during its testing phase?")
    assert not answer["abstained"] and re.search(r"more than 100 pulsars", answer["answer"]), answer["answer"]
    assert all(c["doc_id"] == added["doc_id"] for c in answer["citations"])
    page = local.get(answer["citations"][0]["url"].split("#")[0])
    assert page.status_code == 200 and "more than 100 pulsars" in page.text

    again = upload(local, TELESCOPE, name="same-page-renamed.html")
    assert again.status_code == 200 and again.json()["doc_id"] == added["doc_id"]

    uploads_before = sorted(p.name for p in port.uploads_dir.iterdir())
    assert local.delete(f"/api/articles/{added['doc_id']}").status_code == 204
    assert added["doc_id"] not in port.articles and local.get(f"/articles/{added['doc_id']}").status_code == 404
    assert len(sorted(p.name for p in port.uploads_dir.iterdir())) == len(uploads_before) - 2  # file and its note
    after = ask(local, "How many pulsars did the telescope discover during its testing phase?")
    assert all(c["doc_id"] != added["doc_id"] for c in after["citations"])


def test_a_pdf_is_added_and_its_article_view_says_the_page(local, port):
    added = upload(local, ZEN).json()
    try:
        answer = ask(local, "What is better than ugly?")
        first = answer["citations"][0]
        assert first["doc_id"] == added["doc_id"] and first["text"].startswith("Beautiful")
        page = local.get(f"/articles/{added['doc_id']}")
        paragraph = re.search(rf'<p id="p{first["paragraph"]}" data-page="(\d+)">(.*?)</p>', page.text, re.S)
        assert paragraph and paragraph.group(1) == "1" and 'class="page">page 1<' in paragraph.group(2)
    finally:
        local.delete(f"/api/articles/{added['doc_id']}")


def test_removing_a_seed_is_403_and_an_unknown_id_404(local, port):
    before = state(port)
    (seed,) = [d for d, a in port.articles.items() if a.origin == "seed"]
    refused = local.delete(f"/api/articles/{seed}")
    assert refused.status_code == 403 and "articles folder" in refused.json()["error"]
    unknown = local.delete("/api/articles/upload-0000000000000000")
    assert unknown.status_code == 404 and set(unknown.json()) == {"error"}
    assert local.delete("/api/articles/..%2f..%2fetc%2fpasswd").status_code == 404
    assert state(port) == before


# ---------------------------------------------------------------- bad uploads: status, message, nothing changed


@pytest.mark.parametrize("name, make, error, status, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_a_bad_upload_gets_its_status_and_message_and_changes_nothing(local, port, name, make, error, status, message):
    before = state(port)
    response = upload(local, None, name=name, data=make())
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]
    assert state(port) == before


@pytest.mark.parametrize(
    "request_kwargs, status, message",
    [
        ({"files": {"document": ("a.txt", b"The harbour reopened on Monday after the storm.")}}, 422, "field 'file'"),
        ({"content": b"just bytes", "headers": {"content-type": "application/pdf"}}, 415, "multipart/form-data"),
        ({"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 422, "field 'file'"),
        ({"content": b"x", "headers": {"content-type": "multipart/form-data; boundary=x", "content-length": str(30 * 2**20)}}, 413, "20 MB"),
    ],
    ids=["wrong-field", "not-multipart", "broken-multipart", "declared-too-large"],
)
def test_a_malformed_upload_request_is_a_json_4xx(local, port, request_kwargs, status, message):
    before = state(port)
    response = local.post("/api/articles", **request_kwargs)
    assert 400 <= response.status_code < 500 and set(response.json()) == {"error"}, response.text
    assert response.status_code == status and message in response.json()["error"]
    assert state(port) == before


def test_a_client_file_name_never_becomes_a_path(local, port):
    outside = sorted(p.name for p in port.uploads_dir.parent.iterdir())
    response = upload(local, TELESCOPE, name="../../../../tmp/evil.html")
    assert response.status_code == 201
    assert sorted(p.name for p in port.uploads_dir.parent.iterdir()) == outside
    assert all("evil" not in p.name for p in port.uploads_dir.iterdir())
    local.delete(f"/api/articles/{response.json()['doc_id']}")


# ---------------------------------------------------------------- who may write


def test_loopback_addresses_are_told_apart_from_the_network():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.20", "example.org", ""]))


@pytest.fixture
def exposed(port, monkeypatch):
    """The app bound to every interface; the test sets or clears RAG_ADMIN_TOKEN before calling it."""

    def client(token: str | None) -> TestClient:
        if token is None:
            monkeypatch.delenv(TOKEN_ENV, raising=False)
        else:
            monkeypatch.setenv(TOKEN_ENV, token)
        return TestClient(create_app(port, host="0.0.0.0"))

    return client


def test_on_the_network_without_a_token_writes_are_403_and_reading_stays_open(exposed, port):
    client = exposed(None)
    before = state(port)
    refused = upload(client, TELESCOPE, headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 403 and TOKEN_ENV in refused.json()["error"]
    (seed,) = [d for d, a in port.articles.items() if a.origin == "seed"]
    assert client.delete(f"/api/articles/{seed}").status_code == 403
    assert state(port) == before
    assert client.get("/api/articles").status_code == 200
    assert client.post("/api/ask", json={"question": "Who is the mayor of Northport?"}).status_code == 200
    assert client.get(f"/articles/{seed}").status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "])
def test_on_the_network_a_missing_or_wrong_token_is_401(exposed, port, header):
    client = exposed(TOKEN)
    before = state(port)
    response = upload(client, TELESCOPE, headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]
    assert client.delete("/api/articles/upload-0000000000000000", headers={"Authorization": header or ""}).status_code == 401
    assert state(port) == before


def test_on_the_network_the_right_token_may_add_and_remove(exposed, port):
    client = exposed(TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    added = upload(client, TELESCOPE, headers=auth)
    assert added.status_code == 201
    assert client.delete(f"/api/articles/{added.json()['doc_id']}", headers=auth).status_code == 204


def test_on_loopback_writes_are_open_even_with_a_token_set(exposed, port, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    client = TestClient(create_app(port, host="127.0.0.1"))
    added = upload(client, TELESCOPE)
    assert added.status_code == 201
    assert client.delete(f"/api/articles/{added.json()['doc_id']}").status_code == 204


def components(client) -> set[str]:
    return {c.get("type") for c in client.get("/config").json()["components"]}


def test_the_page_hides_the_upload_control_when_no_one_may_write(exposed, local):
    assert "file" in components(local)
    assert "file" not in components(exposed(None))
    with_token = exposed(TOKEN).get("/config").json()["components"]
    assert any(c.get("type") == "file" for c in with_token)
    assert any(c.get("props", {}).get("label") == "Admin token" and c["props"].get("visible") for c in with_token)


def test_write_access_reads_the_environment():
    assert write_access("0.0.0.0", {TOKEN_ENV: " t "}).token == "t"
    assert not write_access("0.0.0.0", {}).possible and write_access("127.0.0.1", {}).possible
