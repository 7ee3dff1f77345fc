"""A refused or failed write leaves the index and uploads folders byte for byte as they were (issue 18): no
lock file, no staging folder, no half-kept upload. Each case starts from an assistant no write has touched yet,
so anything a refusal leaves behind shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.errors import MalformedFile, SeedArticle, UnknownArticle
from rag.web import create_app

from conftest import port_assistant
from corpus_state import BAD_INPUTS, differences, snapshot

UNKNOWN = "upload-0000000000000000"
GOOD = b"Harbour news\n\nThe harbour board met on Tuesday and agreed to dredge the northern channel next spring.\n"








@pytest.fixture(scope="module")
def template(tmp_path_factory, embedder) -> Path:
    """One seed article and its index, built once; each test works on a copy."""
    root = tmp_path_factory.mktemp("refusals")
    port_assistant(root, embedder)
    return root


@pytest.fixture
def fresh(template, tmp_path, embedder):
    """An assistant over one seed article, its index loaded (a copy of the template's), no add or remove done."""
    from rag import Assistant

    shutil.copytree(template, tmp_path / "root")
    root = tmp_path / "root"
    assistant = Assistant(seeds_dir=root / "articles", index_dir=root / "index", uploads_dir=root / "uploads",
                          embedder=embedder)
    build = assistant.store.current()
    assistant.warm_up()
    assert assistant.store.current() == build  # loaded, not rebuilt
    return assistant


def seed_id(assistant) -> str:
    (seed,) = [d for d, a in assistant.articles.items() if a.origin == "seed"]
    return seed


def failing(*_args, **_kwargs):
    raise OSError("disk full (simulated)")


# ---------------------------------------------------------------- the Python API


@pytest.mark.parametrize("name, make, error, status, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_a_refused_upload_leaves_both_folders_as_they_were(fresh, name, make, error, status, message):
    before = snapshot(fresh)
    with pytest.raises(error):
        fresh.add_upload(make(), name)
    assert differences(before, snapshot(fresh)) == []


@pytest.mark.parametrize("which, error", [("seed", SeedArticle), ("unknown", UnknownArticle)])
def test_a_refused_removal_leaves_both_folders_as_they_were(fresh, which, error):
    before = snapshot(fresh)
    with pytest.raises(error):
        fresh.remove(seed_id(fresh) if which == "seed" else UNKNOWN)
    assert differences(before, snapshot(fresh)) == []


def test_a_parser_crash_leaves_both_folders_as_they_were(fresh, monkeypatch):
    """The extraction worker dies (here: killed by an exception in it) instead of answering."""
    import rag.ingest.readers

    def crash(kind, data, time_limit):
        raise MalformedFile("This PDF could not be read; the file may be damaged.")

    monkeypatch.setattr(rag.ingest.readers, "run_worker", crash)
    before = snapshot(fresh)
    with pytest.raises(MalformedFile):
        fresh.add_upload(b"%PDF-1.4\n" + bytes(range(256)), "crash.pdf")
    assert differences(before, snapshot(fresh)) == []


@pytest.mark.parametrize("step", ["write_index", "publish"])
def test_an_add_that_fails_while_writing_leaves_both_folders_as_they_were(fresh, monkeypatch, step):
    import rag.assistant

    before = snapshot(fresh)
    if step == "write_index":
        monkeypatch.setattr(rag.assistant, "write_index", failing)
    else:
        monkeypatch.setattr(fresh.store, "publish", failing)
    with pytest.raises(OSError, match="simulated"):
        fresh.add_upload(GOOD, "harbour.txt")
    assert differences(before, snapshot(fresh)) == []


@pytest.mark.parametrize("step", ["write_index", "publish"])
def test_a_removal_that_fails_while_writing_leaves_both_folders_as_they_were(fresh, monkeypatch, step):
    import rag.assistant

    added = fresh.add_upload(GOOD, "harbour.txt").article.doc_id
    before = snapshot(fresh)
    if step == "write_index":
        monkeypatch.setattr(rag.assistant, "write_index", failing)
    else:
        monkeypatch.setattr(fresh.store, "publish", failing)
    with pytest.raises(OSError, match="simulated"):
        fresh.remove(added)
    assert differences(before, snapshot(fresh)) == []
    assert added in fresh.articles


# ---------------------------------------------------------------- the REST API


def test_refusals_over_rest_leave_both_folders_as_they_were(fresh, monkeypatch):
    import rag.assistant

    local = TestClient(create_app(fresh, host="127.0.0.1"))
    before = snapshot(fresh)
    checked = []

    def expect(response, status):
        assert response.status_code == status, response.text
        assert differences(before, snapshot(fresh)) == [], checked[-1]

    checked.append("DELETE seed")
    expect(local.delete(f"/api/articles/{seed_id(fresh)}"), 403)
    checked.append("DELETE unknown")
    expect(local.delete(f"/api/articles/{UNKNOWN}"), 404)
    for name, make, _error, status, _message in BAD_INPUTS:
        checked.append(f"POST {name}")
        expect(local.post("/api/articles", files={"file": (name, make())}), status)
    checked.append("POST without a file")
    expect(local.post("/api/articles", files={"other": ("a.txt", GOOD)}), 422)
    checked.append("POST not a form")
    expect(local.post("/api/articles", content=GOOD, headers={"content-type": "text/plain"}), 415)
    monkeypatch.delenv("RAG_ADMIN_TOKEN", raising=False)
    exposed = TestClient(create_app(fresh, host="0.0.0.0"))
    checked.append("POST from an app open to the network, without a token")
    expect(exposed.post("/api/articles", files={"file": ("harbour.txt", GOOD)}), 403)
    checked.append("DELETE from an app open to the network, without a token")
    expect(exposed.delete(f"/api/articles/{seed_id(fresh)}"), 403)
    monkeypatch.setattr(rag.assistant, "write_index", failing)
    checked.append("POST that fails while writing")
    expect(local.post("/api/articles", files={"file": ("harbour.txt", GOOD)}), 500)


def test_the_write_lock_is_the_index_folder_itself_and_excludes_other_processes(fresh):
    """No lock file: a writer holds an flock on the index folder, which another process cannot take meanwhile."""
    import subprocess
    import sys

    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
        "try:\n"
        "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    print('held')\n"
        "else:\n"
        "    print('free')\n"
    )

    def other_process() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(fresh.store.folder)], capture_output=True,
                              text=True, timeout=60, check=True).stdout.strip()

    before = snapshot(fresh)
    with fresh._writing():
        assert other_process() == "held"
    assert other_process() == "free"
    assert differences(before, snapshot(fresh)) == []
