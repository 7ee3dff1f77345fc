"""What both composers promise (the feature scorer's `compose_answer`, the reader's `compose_reader_answer`), on
the same hand-made corpus: quote and cite what was retrieved, abstain with the same evidence below the operating
point, keep to the chosen articles, and answer a follow-up with the conversation."""

import pytest

from rag.answer.citations import ABSTENTION_TEXT, EMPTY_QUESTION_TEXT, grounding_problems
from rag.answer.compose import compose_answer
from rag.answer.question import parse_question
from rag.answer.reader_compose import compose_reader_answer

from handmade import PORT, encode_bag
from oracle import ungrounded

COMPOSERS = pytest.mark.parametrize("compose", [compose_answer, compose_reader_answer], ids=["scorer", "reader"])


def answer(compose, index, question, history=(), **options):
    """The answer step as Assistant.ask runs it: the question parsed once, then composed."""
    return compose(index, encode_bag, parse_question(question, history, index), **options)


@COMPOSERS
def test_the_answer_quotes_and_cites_what_was_retrieved_and_its_refusal_keeps_the_evidence(compose, bag_index):
    question = "When did the harbour authority approve the container terminal?"
    ans = answer(compose, bag_index, question, min_confidence=0.0)
    assert not ans.abstained and ans.text.startswith(PORT[0][0]), ans.text
    assert ans.citations[0].doc_id == "port" and ans.citations[0].paragraph == 1
    assert grounding_problems(ans) == [] and ungrounded(ans, bag_index.articles) == []
    assert ans.question == question == ans.retrieval_query and ans.passages[0].doc_id == "port"
    assert 0.0 < ans.confidence <= 1.0 and ans.notes
    assert ans.short_answer is not None and ans.short_answer.text == "3 March 2021"  # the date asked for
    assert ans.short_answer.citation == 1
    # above any probability: the same evidence, abstained on, with the confidence it had
    refused = answer(compose, bag_index, question, min_confidence=1.01)
    assert refused.abstained and refused.text == ABSTENTION_TEXT and not refused.citations
    assert refused.question == question and refused.short_answer is None
    assert refused.confidence == ans.confidence and refused.passages == ans.passages and refused.notes == ans.notes
    assert answer(compose, bag_index, question, top_k=1, min_confidence=0.0).passages == ans.passages[:1]


@COMPOSERS
def test_the_answer_keeps_to_the_chosen_articles_and_cleans_the_question(compose, bag_index):
    ans = answer(compose, bag_index, "  When did the\tclub open\x00 its stadium? ", min_confidence=0.0,
                 doc_ids={"stadium"})
    assert ans.question == "When did the club open its stadium?"
    assert not ans.abstained and {c.doc_id for c in ans.citations} == {"stadium"}
    assert {h.doc_id for h in ans.passages} == {"stadium"}
    empty = answer(compose, bag_index, " \n\t ")
    assert empty.abstained and empty.text == EMPTY_QUESTION_TEXT and empty.confidence == 0.0 and not empty.passages
    assert empty.retrieval_query == ""


@COMPOSERS
def test_a_follow_up_is_answered_with_the_conversation(compose, bag_index):
    history = ["  Tell me about the construction of the terminal  ", "", "\x00"]
    ans = answer(compose, bag_index, "When did it begin?", history, min_confidence=0.0)
    assert not ans.abstained and "June 2022" in ans.text, ans.text
    assert "construction of the terminal" in ans.retrieval_query.lower()
    alone = answer(compose, bag_index, "When did it begin?", min_confidence=0.0)
    assert alone.retrieval_query == "When did it begin?"
