"""The classes of confident wrong answer the reader was brought in for, each on a new hand-made article (no
question from an evaluation set): a role filled only for another country, an event that has not happened, a
follow-up asking for a response, a quantity's whole phrase, and a first sentence that leans on the one before."""

import re

import pytest

from rag.answer.citations import grounding_problems
from rag.answer.question import parse_question
from rag.answer.reader_compose import compose_reader_answer

from handmade import encode_bag, handmade_index, make_article
from oracle import ungrounded

NEIGHBOURS = [
    ["Lanvia's prime minister, Oskar Hale, opened the new rail line to Dornbury on 12 April 2022.",
     "In neighbouring Pellmark, President Ida Sorn criticised the cost of the line."],
    ["Lanvia and Pellmark have discussed a fishing treaty since 2015, but the treaty has never been signed.",
     "Talks on the treaty collapsed on 9 March 2023 when Pellmark left the negotiating table."],
    ["Pellmark banned all timber imports from Lanvia in June 2020 after bark beetles were found in a shipment.",
     "Lanvia responded by filing a complaint with the regional trade court and halting grain sales to Pellmark."],
    ["The Dornbury power plant released 2.4 million litres of cooling water into the Vell river last year.",
     "Anglers blamed the warm water for a fall in trout numbers."],
    ["For years the owner of the Dornbury plant denied any plan to close it.",
     "Then on 3 May 2023 the owner announced that the plant would close within two years."],
]


@pytest.fixture(scope="module")
def neighbours():
    article = make_article("lanvia", NEIGHBOURS, title="Lanvia and Pellmark")
    return handmade_index([(article, NEIGHBOURS)])


def ask(index, question, history=()):
    ans = compose_reader_answer(index, encode_bag, parse_question(question, history, index))
    assert grounding_problems(ans) == [] and ungrounded(ans, index.articles) == []
    return ans


def first_stretch(answer):
    return re.split(r"\[\d+\]", answer.text)[0].strip()


def test_a_role_filled_only_in_another_country_is_not_answered(neighbours):
    ans = ask(neighbours, "Who is the president of Lanvia?")
    assert ans.abstained or "Ida Sorn" not in ans.text, (ans.text, ans.confidence)
    # and not by abstaining on everything: the office where the article fills it is answered, by name
    filled = ask(neighbours, "Who is the president of Pellmark?")
    assert not filled.abstained and filled.short_answer is not None, (filled.text, filled.confidence)
    assert "Ida Sorn" in filled.short_answer.text, filled.short_answer


@pytest.mark.xfail(strict=True, reason="the reader's answerability: its no-answer score does not yet tell an event "
                   "that never happened from one that did (validation AUC 0.52; issue 17, blocked)")
def test_the_date_of_an_event_that_has_not_happened_is_not_answered_with_another_event(neighbours):
    ans = ask(neighbours, "When was the fishing treaty between Lanvia and Pellmark signed?")
    assert ans.abstained or "9 March 2023" not in ans.text, (ans.text, ans.confidence)


def test_a_follow_up_asking_for_the_response_gets_the_response(neighbours):
    ans = ask(neighbours, "How did Lanvia respond?", history=["Why did Pellmark ban timber from Lanvia?"])
    assert not ans.abstained and "filing a complaint" in first_stretch(ans), ans.text


def test_a_quantity_gets_its_whole_phrase_as_the_short_answer(neighbours):
    ans = ask(neighbours, "How much cooling water did the Dornbury power plant release?")
    assert not ans.abstained and ans.short_answer is not None, ans.text
    assert "2.4 million litres" in ans.short_answer.text and len(ans.short_answer.text.split()) <= 6


def test_an_answer_does_not_open_with_a_sentence_that_leans_on_the_one_before(neighbours):
    ans = ask(neighbours, "When did the owner announce that the Dornbury plant would close?")
    assert not ans.abstained and "3 May 2023" in ans.text, ans.text
    assert not first_stretch(ans).startswith("Then"), ans.text
    assert first_stretch(ans).startswith("For years the owner")
