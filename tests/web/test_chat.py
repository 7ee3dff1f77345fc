"""The chat (rag/web/chat.py): its handler on the real seed assistant, its controls, and the gradio_client API."""

from __future__ import annotations

import re
from html import unescape

import gradio as gr
import pytest
from gradio_client import Client

from rag.web.chat import MAX_PASSAGES, clamp_passages, make_respond, read_question
from rag.web.conversation import ANSWER_FAILED, NO_ARTICLE_MATCHES

SEAFOOD = "Why did China ban Japanese seafood?"
SEAFOOD_ANSWER = re.compile(r"Fukushima.*\b(treated|contaminated|radioactive)\b.*\bwater\b|\bwater\b.*Fukushima", re.S)
FOLLOW_UP = "When did that happen?"
FOLLOW_UP_ANSWER = re.compile(r"\b(24 August 2023|late August)\b")

def turn(respond, message, turns=(), top_k=5, selected=None, date_from="", date_to=""):
    """Run one question through the handler; return every yield (box, html, turns, passages, the two date-field
    messages, panel)."""
    return list(respond(message, list(turns), top_k, selected, date_from, date_to))


class BrokenAssistant:
    """The real articles, and an ask() that fails as a broken index would."""

    def __init__(self, articles):
        self.articles = articles

    def ask(self, *args, **kwargs):
        raise RuntimeError("secret detail of the failure")


# ---------------------------------------------------------------- reading the controls


@pytest.mark.parametrize(
    "typed, used, noted",
    [(5, 5, False), (1, 1, False), (10, 10, False), (25, 10, True), (0, 1, True), (-3, 1, True), (None, 5, True)],
)
def test_passages_out_of_range_are_clamped_with_a_note(typed, used, noted):
    passages, note = clamp_passages(typed)
    assert passages == used and bool(note) == noted
    if noted and typed is not None:
        assert f"{typed} was read as {used}" in note and f"1 to {MAX_PASSAGES}" in note


def test_a_long_question_is_cut_to_2000_characters_with_a_note():
    question, note = read_question("why " * 1500)  # 6,000 characters
    assert len(question) == 2000 and "5,999 characters" in note and "first 2,000" in note
    assert read_question("  short   question ") == ("short question", "")


# ---------------------------------------------------------------- the handler on the real assistant


def test_first_yield_shows_the_question_pending_then_the_answer(seed_assistant):
    first, last = turn(make_respond(seed_assistant), SEAFOOD)
    assert first[0] == "" and 'data-status="pending"' in first[1] and SEAFOOD in first[1]
    assert first[2] == []  # the turn is stored only once answered
    (done,) = last[2]
    assert done.status == "answered" and SEAFOOD_ANSWER.search(done.answer.text)
    assert 'class="rag-cite"' in last[1]


def test_follow_up_in_the_chat_is_answered_with_the_conversation(seed_assistant):
    respond = make_respond(seed_assistant)
    *_, (_, _, turns, *_) = turn(respond, SEAFOOD)
    *_, (_, _, turns, *_) = turn(respond, FOLLOW_UP, turns)
    with_history = turns[-1].answer
    *_, (_, _, alone, *_) = turn(respond, FOLLOW_UP)
    assert not with_history.abstained and FOLLOW_UP_ANSWER.search(with_history.text), with_history.text
    assert alone[-1].answer.text != with_history.text


def test_a_bad_date_is_a_field_message_and_the_question_stays(seed_assistant):
    (only,) = turn(make_respond(seed_assistant), SEAFOOD, date_from="2024-05-01", date_to="2020-01-01")
    box, page, turns, _, from_message, until_message, panel = only
    assert box == SEAFOOD and turns == [] and 'data-status' not in page
    assert "'Published from' is after 'Published until'" in unescape(from_message) and 'role="alert"' in from_message
    assert panel.open is True  # the search options open to show it
    assert 'data-field="Published from"' in from_message  # the field the page marks invalid, under which it shows
    assert 'id="rag-date-from-error"' in from_message and 'id="rag-date-to-error"' in until_message
    assert "after" not in until_message and "data-field" not in until_message


def test_date_filter_that_excludes_the_answer_abstains_and_says_so(seed_assistant):
    respond = make_respond(seed_assistant)
    *_, (_, page, turns, *_) = turn(respond, SEAFOOD, date_from="2017-07-01", date_to="2018-12-31")
    assert turns[-1].status == "abstained"
    assert "No answer was found with the filters on (published from 2017-07-01 until 2018-12-31)." in page
    *_, (_, _, unfiltered, *_) = turn(respond, SEAFOOD)
    assert unfiltered[-1].status == "answered"


def test_filters_that_match_no_article_give_a_notice(seed_assistant):
    *_, (_, page, turns, *_) = turn(make_respond(seed_assistant), SEAFOOD, date_from="1990-01-01", date_to="1990-12-31")
    assert turns[-1].notice == NO_ARTICLE_MATCHES and NO_ARTICLE_MATCHES in page


def test_passages_typed_out_of_range_are_used_clamped_and_written_back(seed_assistant):
    first, last = turn(make_respond(seed_assistant), SEAFOOD, top_k=25)
    assert last[3] == MAX_PASSAGES and last[2][-1].notes == ("\u201cPassages to consider\u201d goes from 1 to 10: 25 was read as 10.",)
    assert "25 was read as 10" in first[1]


def test_passages_to_consider_1_draws_every_citation_from_the_first_passage(seed_assistant):
    question = SEAFOOD  # with five passages the answer also cites a second article stating the same fact
    respond = make_respond(seed_assistant)
    *_, (_, _, wide, *_) = turn(respond, question, top_k=5)
    *_, (_, _, narrow, *_) = turn(respond, question, top_k=1)
    first = narrow[-1].answer.passages[0]
    assert any((c.doc_id, c.paragraph) != (first.doc_id, first.paragraph) for c in wide[-1].answer.citations)
    assert narrow[-1].answer.citations
    assert all((c.doc_id, c.paragraph) == (first.doc_id, first.paragraph) for c in narrow[-1].answer.citations)
    assert narrow[-1].answer.text != wide[-1].answer.text


def test_handler_errors_become_a_message_not_a_traceback(seed_assistant):
    *_, (_, page, turns, *_) = turn(make_respond(BrokenAssistant(seed_assistant.articles)), SEAFOOD)
    assert turns[-1].status == "error" and ANSWER_FAILED in page
    assert "secret detail" not in page and "Traceback" not in page


def test_an_empty_question_changes_nothing(seed_assistant):
    (only,) = turn(make_respond(seed_assistant), "   ")
    assert only[0] == gr.skip() and only[1] == gr.skip() and only[2] == []  # the box as the person left it


# ---------------------------------------------------------------- gradio_client


@pytest.fixture(scope="module")
def client(web_url):
    return Client(web_url, verbose=False)


def test_gradio_client_answers_the_seafood_question_with_its_citation(client):
    result = client.predict(SEAFOOD, api_name="/ask")
    assert not result["abstained"] and SEAFOOD_ANSWER.search(result["answer"]), result["answer"]
    assert result["citations"] and "[1]" in result["answer"]
    first = result["citations"][0]
    assert first["url"] == f"/articles/{first['doc_id']}#p{first['paragraph']}"
    assert " ".join(first["quote"].split()) in " ".join(first["text"].split())


def test_gradio_client_follow_up_uses_the_history(client):
    with_history = client.predict(FOLLOW_UP, [SEAFOOD], 5, api_name="/ask")
    without = client.predict(FOLLOW_UP, [], 5, api_name="/ask")
    assert not with_history["abstained"] and FOLLOW_UP_ANSWER.search(with_history["answer"]), with_history["answer"]
    assert without["answer"] != with_history["answer"]


def test_gradio_client_rejects_a_bad_top_k_with_its_rule(client):
    with pytest.raises(Exception, match=r"'top_k' must be an integer from 1 to 20"):
        client.predict(SEAFOOD, [], 0, api_name="/ask")


def test_what_depends_on_the_articles_is_computed_when_a_page_loads_not_when_it_is_built(seed_assistant):
    """The header, the filter, the date limits and line, the list and its section's label: from the articles
    given, and the filter keeps only what still exists."""
    from rag.web.access import write_access
    from rag.web.chat import corpus_view

    articles = dict(seed_assistant.articles)
    gone, kept = sorted(articles)[:2]
    header, chosen, date_from, date_to, line, listing, section = corpus_view(
        {d: a for d, a in articles.items() if d != gone}, write_access("127.0.0.1"), [gone, kept]
    )
    count = len(articles) - 1
    assert f"quoted from {count} news articles" in header
    assert chosen.value == [kept] and gone not in [v for _, v in chosen.choices] and len(chosen.choices) == count
    limits = (date_from.props["min"], date_from.props["max"])
    assert all(limits) and limits == (date_to.props["min"], date_to.props["max"])
    assert f"of {count} articles" in line
    assert listing.count("<li") == count and section.label.startswith(f"Articles ({count})")
    one = corpus_view({kept: articles[kept]}, write_access("127.0.0.1"))[0]
    assert "quoted from 1 news article," in one
    assert "value" not in corpus_view(articles, write_access("127.0.0.1"))[1].constructor_args  # a load keeps the choice
