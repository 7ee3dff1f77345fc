"""A too-large upload, sent by a real HTTP client to a real server, gets its 413 JSON answer like every other
refusal, not a reset connection (issue 18). A refusal decided before the body is read (too large by its
Content-Length, not a form, no write access) reads and drops the body first, up to rag.web.api.DRAIN_BYTES, so
the answer never races the client's sending; beyond that it is sent at once with Connection: close."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from rag.ingest.readers import MAX_FILE_BYTES
from rag.web import create_app, serve_in_background
from rag.web.api import DRAIN_BYTES

from conftest import port_assistant
from corpus_state import differences, snapshot

pytestmark = pytest.mark.slow  # a real server, and 25 MB through it

BIG = os.urandom(25 * 2**20)  # 25 MB: over the 20 MB limit


@pytest.fixture(scope="module")
def port(tmp_path_factory, embedder):
    return port_assistant(tmp_path_factory.mktemp("upload-size"), embedder)


@pytest.fixture(scope="module")
def local_url(port):
    with serve_in_background(create_app(port, host="127.0.0.1")) as url:
        yield url


@pytest.fixture(scope="module")
def exposed_url(port):
    """The app as when bound to every interface with no admin token: writes are refused (served on loopback)."""
    saved = os.environ.pop("RAG_ADMIN_TOKEN", None)
    try:
        with serve_in_background(create_app(port, host="0.0.0.0")) as url:
            yield url
    finally:
        if saved is not None:
            os.environ["RAG_ADMIN_TOKEN"] = saved


def test_a_25_mb_upload_gets_a_413_json_answer(local_url, port):
    assert len(BIG) > MAX_FILE_BYTES
    before = snapshot(port)
    with httpx.Client(timeout=120) as client:
        response = client.post(f"{local_url}/api/articles", files={"file": ("big.pdf", BIG)})
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == {"error"} and "20 MB" in response.json()["error"]
        # the same connection, or a new one, goes on serving
        assert client.get(f"{local_url}/api/articles").status_code == 200
    assert differences(before, snapshot(port)) == []


def test_a_25_mb_body_that_is_not_a_form_gets_a_415_json_answer(local_url):
    response = httpx.post(f"{local_url}/api/articles", content=BIG, headers={"content-type": "application/pdf"},
                          timeout=120)
    assert response.status_code == 413  # its length is checked first
    small_but_wrong = httpx.post(f"{local_url}/api/articles", content=b"x" * 2**20,
                                 headers={"content-type": "application/pdf"}, timeout=120)
    assert small_but_wrong.status_code == 415 and "multipart/form-data" in small_but_wrong.json()["error"]


def test_a_25_mb_upload_without_write_access_gets_its_403_json_answer(exposed_url):
    response = httpx.post(f"{exposed_url}/api/articles", files={"file": ("big.pdf", BIG)}, timeout=120)
    assert response.status_code == 403 and set(response.json()) == {"error"}


def test_a_body_beyond_the_drain_limit_is_not_read_and_the_answer_closes_the_connection(local_url):
    """Announcing more than DRAIN_BYTES: the server answers at once, without reading, and says it closes."""
    parts = urlsplit(local_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(
            b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {DRAIN_BYTES + 1}\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"connection: close" in head.lower()
    assert b'"error"' in body
