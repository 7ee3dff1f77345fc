"""Short answers: phrase candidates, the question's focus, and the exact phrase of a hand-made answer."""

import re

import pytest

from rag.answer.question import question_focus, question_wh
from rag.answer.short_answer import span_candidates, span_kind, tokenize


def texts(sentence):
    return [s.text for s in span_candidates(tokenize(sentence), sentence)]


def test_phrases_start_and_end_with_content_words_and_stop_at_clauses():
    spans = texts("The lighthouse was built in 1821 by Mara Quill, and it still guides the fleet.")
    assert "1821" in spans and "Mara Quill" in spans and "lighthouse" in spans
    assert not any(s.startswith(("The ", "by ")) or s.endswith((" by", " and")) for s in spans)
    assert not any("," in s for s in spans)  # a comma ends a phrase unless it joins names in a list
    assert "Denmark, Iceland and Norway" in texts("They came from Denmark, Iceland and Norway in ships.")


def test_kinds_and_question_focus():
    def kind(text):
        return span_kind([t for t in tokenize(text) if t.is_word])

    assert kind("1 January 1991") == "date" and kind("10th century") == "date"
    assert kind("4,000 jobs") == "number" and kind("Mara Quill") == "name" and kind("rare birds") == "lower"
    assert question_wh("In what year did it open?") == "what" and question_wh("Whose idea was it?") == "who"
    assert question_focus("What river bounded the Duchy?") == "river" and question_focus("What is the name of it?") == ""
    assert question_focus("Who is the current president of South Korea?") == "presid"


@pytest.mark.parametrize(
    "question,expected",
    [
        ("When did the Brenmark accord take effect?", r"1 January 1991"),
        ("How many members does the town council have?", r"nine( members)?"),
    ],
)
def test_a_typed_question_gets_its_exact_phrase_located_in_citation_and_answer(tmp_path, embedder, question, expected):
    from rag import Assistant
    from conftest import write_article

    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "accord.txt", "The Brenmark accord", [
        "The Brenmark accord between Veland and Ostria was signed in the town of Kessel on 3 May 1990 after two "
        "years of talks. It took effect on 1 January 1991.",
        "The town council of Kessel has nine members and meets every second Tuesday in the old customs house.",
    ])
    answer = Assistant(seeds_dir=folder, index_dir=tmp_path / "idx", embedder=embedder).ask(question)
    assert not answer.abstained and answer.short_answer is not None, answer
    short = answer.short_answer
    assert re.fullmatch(expected, short.text), short.text
    citation = next(c for c in answer.citations if c.number == short.citation)
    assert citation.text[short.start : short.end] == short.text
    assert answer.text[short.answer_start : short.answer_end] == short.text
