"""The facade under stress: hostile questions, rebuilds during queries, nothing of the build machine leaking."""

import json
import threading

import pytest

from rag import Assistant
from rag.answer.citations import grounding_problems
from rag.answer.question import MAX_QUESTION_CHARS, clean_question
from rag.payload import answer_to_dict

from conftest import PARAGRAPHS, REPO, write_article
from oracle import ungrounded


def test_a_huge_question_is_cut_to_the_limit_and_gets_a_grounded_reply(seed_assistant):
    question = "Why did China ban Japanese seafood? " + "blah " * 16_000  # 80,000+ characters
    ans = seed_assistant.ask(question)
    assert len(ans.question) <= MAX_QUESTION_CHARS
    assert grounding_problems(ans) == [] and ungrounded(ans, seed_assistant.articles) == []


@pytest.mark.parametrize(
    "question",
    [
        "Why did China ban\x00 Japanese\x07 seafood?\x1b[31m",
        "🐟🐟 Why did China ban Japanese seafood? 🇯🇵",
        "<script>alert(1)</script> Why did China ban Japanese seafood?",
        "<img src=x onerror=alert(1)>",
        "\u202eWhy did China ban Japanese seafood?",
        "[1] [2] citation markers?",
    ],
)
def test_odd_characters_are_handled(seed_assistant, question):
    ans = seed_assistant.ask(question)
    assert "\x00" not in ans.question and "\x1b" not in ans.question
    assert grounding_problems(ans) == [] and ungrounded(ans, seed_assistant.articles) == []
    json.dumps(answer_to_dict(ans))  # serialisable as the API sends it


def test_clean_question_rules():
    assert clean_question("  a\n\tb\x00c  ") == "a b c"
    assert clean_question(None) == ""
    assert len(clean_question("x" * 100_000)) == MAX_QUESTION_CHARS


def test_queries_during_a_rebuild_keep_a_whole_index(small_corpus, tmp_path, embedder):
    assistant = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=embedder)
    assistant.warm_up()
    errors, answers = [], []

    def ask_many():
        try:
            for _ in range(15):
                ans = assistant.ask("Who is the mayor of Northport?")
                assert grounding_problems(ans) == [] and ungrounded(ans, assistant.articles) == []
                answers.append(ans)
        except Exception as err:  # noqa: BLE001 - collected for the assertion below
            errors.append(err)

    threads = [threading.Thread(target=ask_many) for _ in range(3)]
    for t in threads:
        t.start()
    write_article(small_corpus, "extra.txt", "Extra", [p.replace("Northport", "Eastport") for p in PARAGRAPHS])
    assistant.rebuild()
    for t in threads:
        t.join()
    assert not errors
    assert len(answers) == 45 and all(not a.abstained and "Alice Brennan" in a.text for a in answers)
    assert "extra" in assistant.articles


def test_no_path_of_the_build_machine_reaches_users(seed_assistant, tmp_path):
    ans = seed_assistant.ask("Why did China ban Japanese seafood?")
    payload = json.dumps(answer_to_dict(ans))
    assert str(REPO) not in payload and "/tmp" not in payload and "/root" not in payload
    for article in seed_assistant.articles.values():
        assert "/" not in article.source_name
    from rag.ingest.articles import CorpusError, load_articles

    with pytest.raises(CorpusError) as err:
        load_articles(tmp_path / "secret" / "missing")
    assert str(tmp_path) not in str(err.value)


def test_a_running_assistant_answers_from_a_build_another_process_published(tmp_path, embedder):
    """`python -m rag add` in another process publishes a new build: the app's assistant swaps it in before its
    next question (CURRENT is read on every use), without a restart; a removal elsewhere is followed the same way."""
    from conftest import port_assistant

    app = port_assistant(tmp_path, embedder)
    loaded = app.store.current()
    other = Assistant(  # the other process: same folders, an index of its own in memory
        seeds_dir=tmp_path / "articles", index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads",
        embedder=embedder,
    )  # fmt: skip
    text = tmp_path / "eastport.txt"
    write_article(tmp_path, "eastport.txt", "Eastport opens ferry line", [
        "The Eastport ferry line to the islands opened on 9 May 2023 with two boats.",
        "The harbour master, Tom Okafor, said the line would carry 300 passengers a day.",
    ])  # fmt: skip
    added = other.add(text)
    assert app.store.current() != loaded
    assert added.doc_id in app.articles  # no restart, no call to rebuild
    answer = app.ask("Who is the harbour master of Eastport?")
    assert not answer.abstained and "Tom Okafor" in answer.text
    other.remove(added.doc_id)
    assert added.doc_id not in app.articles


def test_a_published_build_that_cannot_be_loaded_is_not_retried_on_every_question(tmp_path, embedder, caplog):
    from conftest import port_assistant

    app = port_assistant(tmp_path, embedder)
    good = app.store.current()
    broken = tmp_path / "index" / "build-20990101T000000-broken"
    broken.mkdir()
    (tmp_path / "index" / "CURRENT").write_text(broken.name, encoding="utf-8")
    with caplog.at_level("WARNING", logger="rag.assistant"):
        assert "port" in app.articles and "port" in app.articles
    assert app._build == good
    assert sum("unusable" in r.getMessage() for r in caplog.records) == 1
