"""The composer's parts (rag/answer/compose.py) on a hand-made index: ranking, selection, citations, abstention.

Fast on purpose (no model): sentence vectors are chosen by hand, so which sentences state the same fact or add
nothing new is known; the end-to-end tests use a bag-of-words encoder and the real fitted scorer."""

import re

import numpy as np
import pytest

from rag.answer.citations import (
    ABSTENTION_TEXT,
    MAX_SENTENCES,
    abstention,
    build_citations,
    cited_answer,
    grounding_problems,
)
from rag.answer.compose import (
    Scored,
    compose_answer,
    gather_evidence,
    lead_with_asked_type,
    names_no_one,
    rank_candidates,
    same_fact,
    select_sentences,
    trim_to_words,
    Draft,
    Evidence,
)
from rag.answer.features import SENTENCE_FEATURES, Candidate
from rag.answer.question import Question, QuestionTerms, parse_question
from rag.index.tokens import text_tokens
from rag.types import Answer, Hit, Span

from handmade import encode_bag, handmade_index, make_article
from oracle import ungrounded

E = np.eye(8, dtype=np.float32)

ALPHA = [
    ["The council approved the bridge on 3 May 2019.", "Work on the bridge began a year later."],
    ["The bridge cost 40 million euros to build.", "Its designer was Maria Lopez of Lisbon."],
    ["The council approved the bridge on 3 May 2019 after a long vote.", "Tolls will pay for its upkeep."],
]
BETA = [["The council approved the bridge on 3 May 2019, the minutes show.", "Fishermen opposed the plan for years."]]
VECTORS = {
    ALPHA[0][0]: E[0],
    ALPHA[0][1]: 0.8 * E[0] + 0.6 * E[1],  # cosine 0.8 to the approval: nothing new, yet not the same fact
    ALPHA[1][0]: E[2],
    ALPHA[1][1]: E[3],
    ALPHA[2][0]: 0.9 * E[0] + 0.436 * E[6],  # the approval again, in the same article
    ALPHA[2][1]: E[7],
    BETA[0][0]: 0.95 * E[0] + 0.312 * E[4],  # the approval, in another article: the same fact
    BETA[0][1]: E[5],
}


@pytest.fixture(scope="module")
def index():
    alpha = make_article("alpha", ALPHA, title="Bridge approved", pages=[1, 1, 2])
    beta = make_article("beta", BETA, title="Council minutes")
    return handmade_index([(alpha, ALPHA), (beta, BETA)], lambda s: VECTORS[s])


def candidate(index, passage_row, position, probability=0.5, type_match=False, span=None):
    passage = index.passages[passage_row]
    article = index.articles[passage.doc_id]
    hit = Hit(passage=passage, title=article.title, score=0.9 - 0.1 * passage_row, rank=passage_row + 1)
    span = span or passage.sentences[position]
    text = passage.sentence_text(span)
    row = index.passage_sentence_rows(passage_row)[position]
    return Candidate(hit, span, text, (row,), position, 0.5, 0.5, type_match, text_tokens(text))


def scored(index, passage_row, position, probability, row=0, type_match=False):
    return Scored(candidate(index, passage_row, position, type_match=type_match), probability, row)


def texts(groups):
    return [[s.candidate.text for s in group] for group in groups]


# ---------------------------------------------------------------- ranking


def evidence_of(candidates, answer_type="other"):
    terms = QuestionTerms(("bridg",), (1.0,), answer_type, ())
    features = np.zeros((len(candidates), len(SENTENCE_FEATURES)))
    return Evidence(Question("q", "q", (), "q", terms, False, "other"), (), tuple(candidates), features)


def test_candidates_are_ranked_by_probability_ties_in_passage_order(index):
    cands = [candidate(index, 0, 0), candidate(index, 1, 0), candidate(index, 1, 1), candidate(index, 2, 1)]
    ranked = rank_candidates(evidence_of(cands), [0.2, 0.7, 0.2, 0.9])
    assert [(s.row, s.probability) for s in ranked] == [(3, 0.9), (1, 0.7), (0, 0.2), (2, 0.2)]
    assert [s.candidate for s in ranked] == [cands[3], cands[1], cands[0], cands[2]]
    assert rank_candidates(evidence_of([]), []) == []


def test_a_sentence_of_the_asked_type_leads_when_likely_enough(index):
    top, typed, unlikely = scored(index, 1, 1, 0.8), scored(index, 0, 0, 0.3, type_match=True), scored(index, 1, 0, 0.1)
    when = QuestionTerms(("bridg",), (1.0,), "when", ())
    assert lead_with_asked_type([top, unlikely, typed], when) == [typed, top, unlikely]
    # exactly at the floor (TYPED_LEAD_SHARE of the top probability) still leads
    floor = scored(index, 0, 0, 0.2, type_match=True)
    assert lead_with_asked_type([top, floor], when) == [floor, top]
    # below the floor, or a question without an asked type, or the top already typed: order kept
    low = scored(index, 0, 0, 0.19, type_match=True)
    assert lead_with_asked_type([top, low], when) == [top, low]
    assert lead_with_asked_type([top, typed], QuestionTerms(("bridg",), (1.0,), "other", ())) == [top, typed]
    first_typed = scored(index, 0, 0, 0.9, type_match=True)
    assert lead_with_asked_type([first_typed, typed], when) == [first_typed, typed]
    assert lead_with_asked_type([], when) == []


# ---------------------------------------------------------------- selection


def test_selection_groups_the_same_fact_skips_what_adds_nothing_and_needs_support(index):
    ranked = [
        scored(index, 0, 0, 0.9),  # the approval
        scored(index, 2, 0, 0.85),  # the approval again in the same article: no second citation
        scored(index, 3, 0, 0.8),  # the approval in beta: a second citation, however likely
        scored(index, 0, 1, 0.7),  # close to the approval (0.8): adds nothing
        scored(index, 1, 0, 0.6),  # the cost: new and likely enough
        scored(index, 1, 1, 0.5),  # the designer: new but below min_support
    ]
    groups = select_sentences(ranked, index, min_support=0.55)
    assert texts(groups) == [[ALPHA[0][0], BETA[0][0]], [ALPHA[1][0]]]
    assert texts(select_sentences(ranked, index, min_support=0.5)) == [[ALPHA[0][0], BETA[0][0]], [ALPHA[1][0]],
                                                                      [ALPHA[1][1]]]
    # the first sentence is given whatever its probability
    assert texts(select_sentences([scored(index, 1, 1, 0.01)], index, min_support=0.9)) == [[ALPHA[1][1]]]
    assert select_sentences([], index, min_support=0.5) == []


def test_same_fact_by_vectors_or_by_shared_words(index):
    approval, again, other_article = candidate(index, 0, 0), candidate(index, 2, 0), candidate(index, 3, 0)
    assert same_fact(approval, other_article, index) and same_fact(approval, again, index)
    assert not same_fact(approval, candidate(index, 0, 1), index)  # cosine 0.8, few shared words
    # vectors far apart, words nearly all shared (Jaccard >= 0.6): the same fact
    reworded = Candidate(approval.hit, approval.span, approval.text, (index.passage_sentence_rows(1)[1],), 0,
                         0.5, 0.5, False, approval.tokens + ("vote",))
    assert same_fact(approval, reworded, index)
    fewer = Candidate(approval.hit, approval.span, approval.text, reworded.rows, 0, 0.5, 0.5, False,
                      approval.tokens[:2] + ("x", "y"))
    assert not same_fact(approval, fewer, index)
    empty = Candidate(approval.hit, approval.span, approval.text, reworded.rows, 0, 0.5, 0.5, False, ())
    wordless = Candidate(approval.hit, approval.span, approval.text, approval.rows, 0, 0.5, 0.5, False, ())
    assert not same_fact(empty, wordless, index)  # no words to share (not an empty overlap of 1), vectors far apart


def test_two_sentences_without_words_are_one_fact_only_when_their_vectors_say_so(index):
    """No shared words to compare (no tokens): closeness alone decides, without dividing by zero."""
    approval, cost = candidate(index, 0, 0), candidate(index, 1, 0)
    wordless = [Candidate(c.hit, c.span, c.text, c.rows, 0, 0.5, 0.5, False, ()) for c in (approval, cost)]
    assert not same_fact(*wordless, index)  # cosine 0
    assert not same_fact(wordless[0], cost, index) and not same_fact(approval, wordless[1], index)


def test_at_most_three_sentences_and_an_overlapping_stretch_is_not_quoted_twice(index):
    distinct = [scored(index, 1, 0, 0.9), scored(index, 1, 1, 0.8), scored(index, 2, 1, 0.7),
                scored(index, 3, 1, 0.6), scored(index, 0, 0, 0.55)]
    assert len(select_sentences(distinct, index, min_support=0.1)) == MAX_SENTENCES == 3
    first = scored(index, 1, 0, 0.9)
    passage = index.passages[1]
    both = Span(passage.sentences[0].start, passage.sentences[1].end)  # the cost with the designer
    overlapping = Scored(candidate(index, 1, 1, span=both), 0.8, 1)
    assert texts(select_sentences([first, overlapping], index, min_support=0.1)) == [[ALPHA[1][0]]]
    # touching is not overlapping: the next sentence of the same passage may follow
    assert texts(select_sentences([first, scored(index, 1, 1, 0.8)], index, 0.1)) == [[ALPHA[1][0]], [ALPHA[1][1]]]


def test_the_word_budget_trims_a_long_first_sentence_and_skips_later_ones(index):
    cost, designer, tolls = scored(index, 1, 0, 0.9), scored(index, 1, 1, 0.8), scored(index, 2, 1, 0.7)
    # cost: 8 words, designer: 7, tolls: 6
    assert texts(select_sentences([cost, designer, tolls], index, 0.1, max_words=14)) == [[ALPHA[1][0]], [ALPHA[2][1]]]
    assert texts(select_sentences([cost, designer], index, 0.1, max_words=15)) == [[ALPHA[1][0]], [ALPHA[1][1]]]
    (only,), = select_sentences([cost, designer], index, 0.1, max_words=3)
    assert only.candidate.text == "The bridge cost" and only.probability == 0.9


def test_trimming_keeps_a_contiguous_quotable_stretch(index):
    cand = candidate(index, 1, 1)
    trimmed = trim_to_words(cand, 4)
    assert trimmed.text == "Its designer was Maria"
    assert trimmed.span == Span(cand.span.start, cand.span.start + len("Its designer was Maria"))
    assert index.articles["alpha"].text[trimmed.span.start : trimmed.span.end] == trimmed.text
    assert trim_to_words(cand, 50) == cand
    assert trim_to_words(cand, 0).text == cand.text  # nothing to cut to: the whole sentence


# ---------------------------------------------------------------- citations


def test_citations_are_numbered_in_order_of_first_use_with_their_quotes_in_text_order(index):
    work, approval, minutes, cost = (candidate(index, 0, 1), candidate(index, 0, 0), candidate(index, 3, 0),
                                     candidate(index, 1, 0))
    text, citations = build_citations([[work], [approval, minutes], [cost]], index)
    assert text == f"{ALPHA[0][1]} [1] {ALPHA[0][0]} [1][2] {ALPHA[1][0]} [3]"
    assert [(c.number, c.doc_id, c.paragraph) for c in citations] == [(1, "alpha", 1), (2, "beta", 1), (3, "alpha", 2)]
    first = citations[0]
    assert first.quote == f"{ALPHA[0][0]} … {ALPHA[0][1]}" and first.spans == (approval.span, work.span)
    assert first.text == index.passages[0].text and first.title == "Bridge approved"
    assert first.url == "/articles/alpha#p1" and first.score == work.hit.score
    assert citations[1].quote == BETA[0][0] and citations[1].title == "Council minutes"
    assert [c.page for c in citations] == [1, None, 1]
    assert build_citations([[candidate(index, 2, 1)]], index)[1][0].page == 2
    grounded = Answer(question="q", text=text, abstained=False, confidence=0.9, citations=citations)
    assert grounding_problems(grounded) == [] and ungrounded(grounded, index.articles) == []
    # one marker per passage after a sentence, however many of its stretches the group quotes
    text, citations = build_citations([[approval, work]], index)
    assert text == f"{ALPHA[0][0]} [1]" and len(citations) == 1
    assert build_citations([], index) == ("", ())


def test_grounding_problems_name_the_uncited_unfound_and_empty_stretches(index):
    text, citations = build_citations([[candidate(index, 0, 0)], [candidate(index, 1, 0)]], index)
    def answered(body):
        return Answer(question="q", text=body, abstained=False, confidence=0.9, citations=citations)
    assert grounding_problems(answered(text)) == []
    assert grounding_problems(answered(text.replace("40 million", "50 million"))) == [
        "not found in cited passages [2]: 'The bridge cost 50 million euros to build.'"]
    assert grounding_problems(answered(f"{ALPHA[0][0]} [2]")) == [
        f"not found in cited passages [2]: {ALPHA[0][0]!r}"]  # a real sentence, but not of passage 2
    assert grounding_problems(answered(f"{ALPHA[0][0]} [9]"))[0].startswith("not found")  # no such citation
    assert grounding_problems(answered(f"[1] {ALPHA[0][0]} [1]")) == ["marker [1] cites nothing"]
    assert grounding_problems(answered(f"{text} Tolls are high.")) == [
        "uncited text after the last marker: 'Tolls are high.'"]
    assert grounding_problems(abstention(asked("q"), "Anything at all.", (), 0.1)) == []


def asked(text: str, query: str = "") -> Question:
    """A question as parse_question gives it, made by hand: its text, and what retrieval searched."""
    return Question(text, text, (), query or text, QuestionTerms((), (), "other", ()), False, "")


def test_an_abstention_keeps_the_passages_and_says_why():
    hits = ("h1", "h2")
    ans = abstention(asked("Why?", "Why? (x)"), ABSTENTION_TEXT, hits, 0.123456, notes=["type=why"])
    assert ans.abstained and ans.text == ABSTENTION_TEXT and ans.question == "Why?"
    assert ans.confidence == 0.123 and ans.passages == hits and ans.retrieval_query == "Why? (x)"
    assert ans.notes == ("type=why",) and ans.citations == () and ans.short_answer is None


def test_a_cited_answer_carries_what_it_rests_on(index):
    text, citations = build_citations([[candidate(index, 0, 0)]], index)
    ans = cited_answer(asked("When?", "When? (x)"), text, citations, 0.876543, ("h1",), ["type=when"], None)
    assert not ans.abstained and ans.text == text and ans.citations == citations and ans.question == "When?"
    assert ans.confidence == 0.877 and ans.passages == ("h1",) and ans.retrieval_query == "When? (x)"
    assert ans.notes == ("type=when",) and grounding_problems(ans) == []


def test_a_who_question_whose_role_no_cited_passage_names_names_no_one(index):
    draft = Draft(((scored(index, 1, 1, 0.9),),), 0.9)  # "Its designer was Maria Lopez of Lisbon."
    def who(focus):
        return QuestionTerms((focus,), (1.0,), "who", (), focus=focus)
    assert not names_no_one(draft, who("design"), index)
    assert names_no_one(draft, who("presid"), index)
    assert not names_no_one(draft, QuestionTerms(("presid",), (1.0,), "what", (), focus="presid"), index)
    assert not names_no_one(draft, QuestionTerms(("presid",), (1.0,), "who", ()), index)  # no focus noun
    # the cited article's metadata counts (its title "Bridge approved"); another article's title does not
    assert not names_no_one(draft, who("approv"), index)
    assert "council" in index.metadata_terms["beta"] and names_no_one(draft, who("council"), index)
    assert not names_no_one(draft, QuestionTerms(("presid",), (1.0,), "who", (), expansions=(("lisbon",),),
                                                 focus="presid"), index)


# ---------------------------------------------------------------- the whole step, bag-of-words vectors

def answer(index, question, history=(), **options):
    """The answer step as Assistant.ask runs it: the question parsed once, then composed."""
    return compose_answer(index, encode_bag, parse_question(question, history, index), **options)


def test_the_scorer_says_why_in_its_notes_and_reads_every_passage_asked_for(bag_index):
    ans = answer(bag_index, "When did the harbour authority approve the container terminal?", min_confidence=0.0)
    assert len(ans.passages) == 4
    assert ans.notes[0] == "type=when" and re.fullmatch(r"sentence_probability=0\.\d{3}", ans.notes[1])
    assert re.fullmatch(r"best_cosine=\d\.\d{3}", ans.notes[2]) and ans.notes[3].startswith("unknown=")


def test_a_follow_up_retrieves_with_the_conversation_and_ranks_for_the_question(bag_index):
    question = "When did it begin?"
    history = ["  Tell me about the construction of the terminal  ", "", "\x00"]
    parsed = parse_question(question, history, bag_index)
    evidence = gather_evidence(bag_index, encode_bag, parsed, top_k=2)
    assert evidence.question == parsed and parsed.follow_up and evidence.query != question
    assert "construction of the terminal" in evidence.query.lower()
    assert evidence.hits[0].doc_id == "port" and evidence.hits[0].paragraph == 3 and len(evidence.hits) == 2
    assert "construct" in evidence.terms.terms  # borrowed from the conversation
    assert evidence.features.shape == (len(evidence.candidates), len(SENTENCE_FEATURES))
    assert {c.hit.passage.passage_id for c in evidence.candidates} <= {h.passage.passage_id for h in evidence.hits}
    alone = gather_evidence(bag_index, encode_bag, parse_question(question, (), bag_index), top_k=2)
    assert alone.query == question and "construct" not in alone.terms.terms
    ans = answer(bag_index, question, history, min_confidence=0.0)
    assert not ans.abstained and "June 2022" in ans.text and ans.retrieval_query == evidence.query, ans.text


def test_an_acronym_the_articles_define_is_searched_in_full(bag_index):
    article_sentences = [["The Northport Harbour Authority (NHA) approved the terminal in March.",
                          "The NHA also runs the ferry port."]]
    index = handmade_index([(make_article("nha", article_sentences), article_sentences)])
    evidence = gather_evidence(index, encode_bag, parse_question("Who runs the NHA?", (), index), top_k=1)
    assert evidence.query == "Who runs the NHA? (Northport Harbour Authority)"


def test_passages_without_a_candidate_sentence_give_an_abstention(bag_index):
    short = [["Too short.", "Also short."]]
    index = handmade_index([(make_article("short", short), short)])
    ans = answer(index, "What is too short?", min_confidence=0.0)
    assert ans.abstained and ans.text == ABSTENTION_TEXT and ans.confidence == 0.0 and ans.passages
    assert ans.notes == ()
