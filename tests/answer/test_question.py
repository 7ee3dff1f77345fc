"""Answers: grounded sentences, citations, abstention, follow-ups, the question parsed once, the grounding checker."""

import dataclasses
import re

import pytest

from rag.answer.citations import EMPTY_QUESTION_TEXT, grounding_problems
import sys

import rag.answer.question as question_module
from rag.answer.question import Question, answer_type, is_elliptical, parse_question, salient_terms
from rag.answer.reader import load_reader
from rag.answer.scoring import load_scorer
from rag.types import Answer, Citation

from oracle import ungrounded

WORDS = lambda text: len(re.sub(r"\[\d+\]", " ", text).split())  # noqa: E731


def test_the_example_question_is_answered_from_the_articles(seed_assistant):
    ans = seed_assistant.ask("Why did China ban Japanese seafood?")
    assert not ans.abstained and ans.confidence >= load_scorer().min_confidence
    assert "Fukushima" in ans.text and re.search(r"treated|waste|contaminated", ans.text)
    assert grounding_problems(ans) == [] and ungrounded(ans, seed_assistant.articles) == []
    assert [c.number for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    first = ans.citations[0]
    assert first.quote in first.text and first.url == f"/articles/{first.doc_id}#p{first.paragraph}"
    article = seed_assistant.articles[first.doc_id]
    for span in first.spans:
        assert article.text[span.start : span.end] in first.quote
    assert 1 <= len(ans.passages) <= 5


def test_the_same_fact_in_two_articles_is_stated_once_with_both_citations(seed_assistant):
    ans = seed_assistant.ask("Why did China ban Japanese seafood?")
    marker_groups = re.findall(r"(?:\[\d+\])+", ans.text)
    assert any(len(re.findall(r"\d+", g)) >= 2 for g in marker_groups)
    assert len({c.doc_id for c in ans.citations}) >= 2


def test_every_dev_answer_is_grounded_and_short(seed_assistant, dev_question):
    ans = seed_assistant.ask(dev_question.question)
    assert ungrounded(ans, seed_assistant.articles) == []
    assert grounding_problems(ans) == []
    assert WORDS(ans.text) <= 120
    assert 0.0 <= ans.confidence <= 1.0
    if ans.abstained:
        assert ans.citations == ()


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "What is the capital of France?",
                                      "How do I make sushi rice at home?", "Who won the 2022 FIFA World Cup?"])
def test_blank_and_off_topic_questions_abstain(seed_assistant, question):
    ans = seed_assistant.ask(question)
    assert ans.abstained and ans.text and ans.confidence < 0.5 and not ans.citations


def test_an_abstention_still_offers_related_reading(seed_assistant):
    ans = seed_assistant.ask("What did Japan and China agree at their 2025 summit?")
    assert ans.abstained and ans.passages


FOLLOW_UPS = [
    (["When was the Japan-China Treaty of Peace and Friendship signed?"], "When did it take effect?", r"23 October"),
    (["Who represented the Japanese government at the Belt and Road Forum?"], "When was that?", r"May 2017"),
    (["Why did China ban Japanese seafood?"], "How did Japan respond?", r"seafood|Fukushima|water"),
    (["What is the Partnership for Quality Infrastructure?", "When was it launched?"], "Who launched it?", r"Japan"),
]


@pytest.mark.parametrize("history,question,expected", FOLLOW_UPS)
def test_follow_up_questions_use_the_conversation(seed_assistant, history, question, expected):
    alone = seed_assistant.ask(question)
    ans = seed_assistant.ask(question, history=history)
    assert not ans.abstained and re.search(expected, ans.text), ans.text
    assert grounding_problems(ans) == [] and ungrounded(ans, seed_assistant.articles) == []
    assert ans.retrieval_query != question and history[-1] in ans.retrieval_query
    assert alone.retrieval_query == question


def test_a_self_contained_question_is_not_dragged_back(seed_assistant):
    ans = seed_assistant.ask("What is the Partnership for Quality Infrastructure?",
                             history=["Why did China ban Japanese seafood?"])
    assert ans.retrieval_query == "What is the Partnership for Quality Infrastructure?"
    assert "Infrastructure" in ans.text and "seafood" not in ans.text


def test_answer_types_and_ellipsis(seed_assistant):
    assert answer_type("When was it signed?") == "when"
    assert answer_type("How many people went?") == "quantity"
    assert answer_type("Where did they meet?") == "where"
    assert answer_type("Why is Beijing suspicious?") == "why"
    lexical = seed_assistant.index.lexical
    assert is_elliptical("How did Japan respond?", salient_terms("How did Japan respond?", lexical), lexical)
    q = "What is the Partnership for Quality Infrastructure?"
    assert not is_elliptical(q, salient_terms(q, lexical), lexical)


FORUM = "Who represented the Japanese government at the Belt and Road Forum?"


def test_a_follow_up_is_parsed_against_the_conversation_and_a_plain_question_alone(seed_assistant):
    index = seed_assistant.index
    lexical, extra = index.lexical, (index.metadata_vocabulary, index.neighbours)
    q = parse_question("  When was\tthat? ", ["", f" {FORUM}\x00", "   "], index)
    assert (q.asked, q.text, q.history) == ("  When was\tthat? ", "When was that?", (FORUM,))
    assert q.follow_up and q.query == f"{FORUM} When was that?"
    own, borrowed = salient_terms("When was that?", lexical, *extra), salient_terms(q.query, lexical, *extra)
    assert q.terms.terms[: len(own.terms)] == own.terms and "forum" in q.terms.terms  # borrowed from the history
    forum = q.terms.terms.index("forum")
    assert q.terms.weights[forum] == borrowed.weights[borrowed.terms.index("forum")] / 2  # at half weight
    assert (q.wh, q.answer_type, q.focus) == ("when", "when", "")

    alone = parse_question("When was that?", (), index)
    assert not alone.follow_up and alone.query == "When was that?" and alone.terms == own and alone.history == ()
    standing = parse_question("What is the Partnership for Quality Infrastructure?", [FORUM], index)
    assert not standing.follow_up and standing.query == standing.text and standing.history == (FORUM,)
    # an acronym the articles define is searched in full; that alone makes no follow-up
    bri = parse_question("What about the BRI?", (), index)
    assert bri.query.startswith("What about the BRI? (") and "Belt and Road" in bri.query and not bri.follow_up
    who = parse_question("Who is the president of Ostria?", (), index)
    assert (who.wh, who.answer_type, who.focus) == ("who", "who", "presid")
    empty = parse_question(" \n ", [FORUM], index)
    assert (empty.text, empty.query, empty.terms.terms, empty.follow_up) == ("", "", (), False)


def test_a_parsed_question_is_frozen(seed_assistant):
    q = parse_question("Why did China ban Japanese seafood?", (), seed_assistant.index)
    assert isinstance(q, Question) and q == parse_question(q.asked, (), seed_assistant.index)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.query = "something else"


PARSERS = ("clean_question", "resolve_follow_up", "salient_terms", "merge_terms", "expand_acronyms", "question_wh")


def count_parsing(monkeypatch) -> dict[str, int]:
    """Count every call of the question's parsers, wherever a module of the package imported them from: the
    wrappers call through, so answers are unchanged."""
    counts = dict.fromkeys(PARSERS, 0)
    for name in PARSERS:
        original = getattr(question_module, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        for module in [m for key, m in sys.modules.items() if key == "rag" or key.startswith("rag.")]:
            if getattr(module, name, None) is original:
                monkeypatch.setattr(module, name, counting)
    return counts


@pytest.mark.parametrize("composer", ["scorer", "reader"])
def test_one_ask_parses_the_question_once_and_no_stage_again(seed_assistant, monkeypatch, composer):
    if composer == "reader":
        monkeypatch.setattr(seed_assistant, "reader", load_reader())
    history = ["Why did China ban Japanese seafood?"]
    index = seed_assistant.index
    counts = count_parsing(monkeypatch)
    parse_question("How did Japan respond?", history, index)
    once = dict(counts)
    assert once["clean_question"] == 2 and once["resolve_follow_up"] == 1 and once["merge_terms"] == 1, once
    counts.update(dict.fromkeys(PARSERS, 0))
    ans = seed_assistant.ask("How did Japan respond?", history=history)
    assert counts == once, (counts, once)
    assert history[0] in ans.retrieval_query  # the follow-up was resolved, so every parser above ran
    counts.update(dict.fromkeys(PARSERS, 0))
    assert seed_assistant.ask(" \t ", history=history).text == EMPTY_QUESTION_TEXT  # the same abstention as ever
    empty = dict(counts)
    counts.update(dict.fromkeys(PARSERS, 0))
    parse_question(" \t ", history, index)
    assert empty == counts and counts["clean_question"] == 2 and counts["resolve_follow_up"] == 0, (empty, counts)


def make_answer(text, passages):
    citations = tuple(Citation(i + 1, "d", "t", "/u", 1, p, p, 1.0) for i, p in enumerate(passages))
    return Answer(question="q", text=text, abstained=False, confidence=0.9, citations=citations)


def test_grounding_checker_catches_what_it_should():
    passage = "The ban followed the release of treated water.   It angered Tokyo."
    assert grounding_problems(make_answer("The ban followed the release of treated water. [1]", [passage])) == []
    assert grounding_problems(make_answer("The ban followed the release of\ntreated water. [1][2]", ["x", passage])) == []
    assert grounding_problems(make_answer("The ban was lifted. [1]", [passage]))
    assert grounding_problems(make_answer("The ban followed the release of treated water. [1] Extra.", [passage]))
    assert grounding_problems(make_answer("The ban followed the release of treated water. [2]", [passage]))
    # The first 40 characters agree, the rest does not: the whole stretch must be found, not a prefix.
    assert grounding_problems(make_answer("The ban followed the release of treated milk. [1]", [passage]))


def corruptions(answer):
    """Ways to make a real answer ungrounded that keep every quote's opening intact."""
    first = re.search(r"(\S+)(\s*)((?:\[\d+\])+)", answer.text)  # the last word before the first markers
    word, space, markers = first.groups()
    yield "last word changed", answer.text[: first.start(1)] + "zebras." + space + markers + answer.text[first.end():]
    yield "clause inserted", answer.text[: first.start(1)] + "and, it is said, never " + answer.text[first.start(1):]
    yield "uncited tail", answer.text + " Tokyo agreed."
    yield "unknown citation", answer.text[: first.start(3)] + f"[{len(answer.citations) + 1}]" + answer.text[first.end(3):]


@pytest.mark.parametrize("question", ["Why did China ban Japanese seafood?",
                                      "Who represented the Japanese government at the Belt and Road Forum?",
                                      "When was the Japan-China Treaty of Peace and Friendship signed?"])
def test_grounding_problems_agrees_with_the_tests_own_oracle(seed_assistant, question):
    """The product's checker against an independent oracle that reads the articles: on a real answer both find
    nothing; on each corruption (a changed ending, an inserted clause, an uncited tail, a wrong number) both
    object. A checker that compared only a quote's first 40 characters fails here."""
    ans = seed_assistant.ask(question)
    assert not ans.abstained and len(re.split(r"(?:\[\d+\])+", ans.text)[0]) > 40
    assert ungrounded(ans, seed_assistant.articles) == [] and grounding_problems(ans) == []
    for what, text in corruptions(ans):
        corrupted = dataclasses.replace(ans, text=text)
        assert ungrounded(corrupted, seed_assistant.articles), what
        assert grounding_problems(corrupted), what


# ---------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

vocabulary = ("why when who where how many did China Japan ban seafood water Fukushima treaty 1978 Abe BRI "
              "it that they the of a France yen 2025 summit Kishida Xi met ? . [1] <b> 🐟").split()
questions = st.lists(st.sampled_from(vocabulary), max_size=14).map(" ".join) | st.text(max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(question=questions, history=st.lists(questions, max_size=2), top_k=st.integers(min_value=1, max_value=10))
def test_any_question_gets_a_grounded_answer_or_an_abstention(seed_assistant, question, history, top_k):
    ans = seed_assistant.ask(question, history=history, top_k=top_k)
    assert grounding_problems(ans) == [] and ungrounded(ans, seed_assistant.articles) == []
    assert 0.0 <= ans.confidence <= 1.0 and len(ans.passages) <= top_k
    assert WORDS(ans.text) <= 120
    assert ans.abstained or ans.citations
    for c in ans.citations:
        article = seed_assistant.articles[c.doc_id]
        assert all(article.text[s.start : s.end] in c.text for s in c.spans)


def test_a_follow_up_is_answered_differently_with_the_conversation_than_without(seed_assistant):
    """Python path of a conversation: "When was that?" means nothing alone, and what the history makes it."""
    alone = seed_assistant.ask("When was that?")
    forum = seed_assistant.ask("When was that?", history=[
        "Who represented the Japanese government at the Belt and Road Forum?"])
    treaty = seed_assistant.ask("When was that?", history=[
        "When was the Japan-China Treaty of Peace and Friendship signed?"])
    assert alone.abstained and not alone.citations
    assert not forum.abstained and "May 2017" in forum.text and "1978" not in forum.text, forum.text
    assert not treaty.abstained and "1978" in treaty.text and "May 2017" not in treaty.text, treaty.text
    for ans in (forum, treaty):
        assert ungrounded(ans, seed_assistant.articles) == []


# ---------------------------------------------------------------- the failure classes of issue 9, on a new article

NEIGHBOURS = [
    ("fisheries.txt", "Harbour ban hits fishermen", [
        "The government of Veland imposed a ban on all seafood from Ostria in March, citing fears about a chemical "
        "spill in the Ostrian gulf.",
        "Ostrian officials called the ban unjustified and said the spill had been contained within days.",
        "In response, Ostria lodged a formal complaint with the regional trade council and suspended talks on a "
        "fishing agreement.",
        "Ostria exported 40,000 tonnes of goods to Veland last year, most of it machinery and timber, according to "
        "the statistics office.",
    ]),
    ("treaty.txt", "The Brenmark accord", [
        "The Brenmark accord between Veland and Ostria was signed in the town of Kessel on 3 May 1990 after two "
        "years of talks. It took effect on 1 January 1991.",
        "The accord set out rules for shared use of the river Aln, including limits on dams and a joint water "
        "commission.",
        "Ostria has a parliament of 120 members elected every four years; its prime minister leads the government.",
    ]),
    ("essay.txt", "Why the accord still matters", [
        "Three decades on, the Brenmark accord remains the only framework the two neighbours have for settling "
        "disputes over water, and both sides still cite it in every negotiation.",
        "Neither government has proposed changes to the accord since 2005, and its commission meets twice a year "
        "in Kessel.",
        "The author is a senior research fellow at the Lindqvist Institute for Regional Studies, an independent "
        "think tank based in Kessel. The views expressed here do not necessarily reflect those of the institute.",
    ]),
]


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory, embedder):
    """Two invented countries, a trade ban, a treaty and an essay with a contributor line: no test question
    is from an evaluation set."""
    from conftest import write_article
    from rag import Assistant

    folder = tmp_path_factory.mktemp("neighbours")
    for name, title, paragraphs in NEIGHBOURS:
        write_article(folder, name, title, paragraphs)
    return Assistant(seeds_dir=folder, index_dir=tmp_path_factory.mktemp("neighbours-index"), embedder=embedder)


def first_stretch(answer):
    return re.split(r"\[\d+\]", answer.text)[0]


def test_a_paraphrase_with_no_shared_word_finds_the_ban(neighbours):
    """Class 1: "blocking fish imports" for a seafood ban; the corpus's own word neighbours bridge it."""
    ans = neighbours.ask("Why is Veland blocking fish imports from Ostria?")
    assert not ans.abstained and "imposed a ban on all seafood" in first_stretch(ans), ans.text
    assert "exported 40,000 tonnes" not in ans.text


def test_a_question_about_the_response_gets_the_response_not_the_event(neighbours):
    """Class 2: "How did X respond to …" is answered by what X did, not by the event told again."""
    ans = neighbours.ask("How did Ostria respond to the seafood ban?")
    assert not ans.abstained and "lodged a formal complaint" in first_stretch(ans), ans.text


def test_the_answer_in_the_sentence_after_the_match_is_quoted_with_it(neighbours):
    """Class 3: "It took effect on …" follows the sentence that names the accord; both are quoted, in order."""
    ans = neighbours.ask("When did the Brenmark accord take effect?")
    stretch = first_stretch(ans)
    assert not ans.abstained and "took effect on 1 January 1991" in stretch and "Brenmark accord" in stretch


def test_something_the_articles_never_name_is_not_answered(neighbours):
    """Class 4: Ostria's parliament and prime minister are there, a president is not."""
    ans = neighbours.ask("Who is the current president of Ostria?")
    assert ans.abstained, ans.text


def test_a_contributor_line_is_content_and_answers_for_the_author(neighbours):
    """Class 5: the author's affiliation survives cleaning (the disclaimer after it does not) and is found."""
    essay = next(a for a in neighbours.articles.values() if a.title == "Why the accord still matters")
    assert "Lindqvist Institute for Regional Studies" in essay.text and "necessarily reflect" not in essay.text
    hits = neighbours.search("Which think tank is the author a research fellow at?", top_k=1)
    assert "Lindqvist Institute" in hits[0].text
    ans = neighbours.ask("Which think tank is the author a research fellow at?")
    assert not ans.abstained and "Lindqvist Institute" in first_stretch(ans), ans.text


def test_a_caller_chooses_another_operating_point(neighbours):
    question = "What did the accord set out?"
    given = neighbours.ask(question, min_confidence=0.0)
    assert not given.abstained and "river Aln" in given.text
    assert neighbours.ask(question, min_confidence=1.0).abstained
    assert neighbours.ask(question).confidence == given.confidence
