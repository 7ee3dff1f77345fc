"""The command line end to end, as a user runs it (a real subprocess, real model and index)."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES, REPO


def run_cli(*args, index_dir, seeds=None, uploads=None, timeout=300):
    cmd = [sys.executable, "-m", "rag", "--index", str(index_dir)]
    if seeds:
        cmd += ["--seeds", str(seeds)]
    if uploads:
        cmd += ["--uploads", str(uploads)]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(cmd + list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


pytestmark = pytest.mark.slow  # subprocesses that load the model: left out of mutation runs


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("cli-index")
    result = run_cli("index", "--quiet", index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    assert "indexed 5 articles" in result.stdout
    return index_dir


def test_ask_json_gives_a_cited_answer(cli_index):
    result = run_cli("ask", "Why did China ban Japanese seafood?", "--json", index_dir=cli_index)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["abstained"] and "Fukushima" in data["answer"]
    assert {"number", "doc_id", "title", "url", "paragraph", "quote", "text", "score"} <= set(data["citations"][0])


def test_ask_prints_sources_under_the_answer(cli_index):
    result = run_cli("ask", "When did it take effect?", "--history",
                     "When was the Japan-China Treaty of Peace and Friendship signed?", index_dir=cli_index)
    assert result.returncode == 0, result.stderr
    assert "23 October" in result.stdout and "Sources:" in result.stdout and "/articles/" in result.stdout


def test_a_follow_up_on_the_command_line_uses_history(cli_index):
    """The CLI path of a conversation: the same follow-up, with and without --history, answered differently."""
    follow_up = "When was that?"
    first = "Who represented the Japanese government at the Belt and Road Forum?"
    alone = run_cli("ask", follow_up, "--json", index_dir=cli_index)
    with_history = run_cli("ask", follow_up, "--history", first, "--json", index_dir=cli_index)
    assert alone.returncode == 0 and with_history.returncode == 0, alone.stderr + with_history.stderr
    alone, with_history = json.loads(alone.stdout), json.loads(with_history.stdout)
    assert not with_history["abstained"] and "May 2017" in with_history["answer"], with_history["answer"]
    assert with_history["citations"][0]["doc_id"] == "001_53155a2f9b336c2e"
    assert alone["abstained"] and "May 2017" not in alone["answer"]


def test_search_json_and_text(cli_index):
    result = run_cli("search", "Partnership for Quality Infrastructure", "--top-k", "2", "--json", index_dir=cli_index)
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and "Quality Infrastructure" in hits[0]["text"]
    text = run_cli("search", "Hamburg", "--top-k", "1", index_dir=cli_index).stdout
    assert text.startswith("1. [") and "Hamburg" in text


def test_a_missing_articles_folder_is_a_clear_error(tmp_path):
    result = run_cli("index", "--quiet", index_dir=tmp_path / "i", seeds=tmp_path / "nowhere")
    assert result.returncode == 2
    assert "error: articles folder not found" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "index" in result.stdout and "eval" in result.stdout
    assert "add" in result.stdout and "remove" in result.stdout


def test_add_ask_and_remove_an_uploaded_pdf(cli_index, tmp_path):
    index_dir, uploads = tmp_path / "index", tmp_path / "uploads"
    shutil.copytree(cli_index, index_dir)
    pdf = FIXTURES / "pdf" / "multicolumn.pdf"
    added = run_cli("add", str(pdf), index_dir=index_dir, uploads=uploads)
    assert added.returncode == 0, added.stderr
    doc_id = re.search(r"^added: (upload-[0-9a-f]+)  Two-Column Document with Lorem Ipsum \(10 paragraphs\)$", added.stdout, re.M)[1]
    listed = json.loads(run_cli("articles", "--json", index_dir=index_dir, uploads=uploads).stdout)
    assert {(a["doc_id"], a["origin"]) for a in listed} >= {(doc_id, "upload"), ("001_53155a2f9b336c2e", "seed")}
    answer = run_cli("ask", "What is the two-column document filled with?", index_dir=index_dir, uploads=uploads)
    assert "Lorem Ipsum text" in answer.stdout and "paragraph 1, page 1" in answer.stdout
    removed = run_cli("remove", doc_id, index_dir=index_dir, uploads=uploads)
    assert removed.returncode == 0 and list(uploads.iterdir()) == []


def test_bad_files_and_ids_are_clear_errors_with_exit_status_2(cli_index, tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"PK\x03\x04" + bytes(100))
    result = run_cli("add", str(fake), str(tmp_path / "missing.txt"), index_dir=cli_index, uploads=tmp_path / "up")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "report.pdf: This file is a ZIP archive" in result.stderr and "missing.txt: No such file" in result.stderr
    assert not (tmp_path / "up").exists()
    for doc_id, message in (("001_53155a2f9b336c2e", "comes from the articles folder"), ("nope", "no article with the id")):
        result = run_cli("remove", doc_id, index_dir=cli_index)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
