"""The reader's composer (rag/answer/reader_compose.py) on a hand-made index with the real reader: from the reader's span to
sentences, leaning sentences, same-fact merging, citations, the short answer, abstention.

Fast on purpose (no sentence model): vectors are chosen by hand or a bag of words; the reader is the shipped one."""

import numpy as np
import pytest

from rag.answer.reader_compose import (
    MAX_WORDS,
    Quote,
    Reading,
    build_citations,
    compose_reader_answer,
    quote_for,
    quote_groups,
    read_question,
    same_fact,
    short_answer_of,
    trim_to_words,
)
from rag.answer.question import Question, QuestionTerms, parse_question
from rag.answer.reader import Choice, PassageReading, SpanReading, load_reader
from rag.types import Hit

from handmade import encode_bag, handmade_index, make_article

E = np.eye(8, dtype=np.float32)

ALPHA = [
    ["The council approved the bridge on 3 May 2019.", "Then work on the bridge began a year later."],
    ["The bridge cost 40 million euros to build.", "Its designer was Maria Lopez of Lisbon."],
]
BETA = [["The council approved the bridge on 3 May 2019, the minutes show.", "Fishermen opposed the plan for years."]]
VECTORS = {
    ALPHA[0][0]: E[0],
    ALPHA[0][1]: E[1],
    ALPHA[1][0]: E[2],
    ALPHA[1][1]: E[3],
    BETA[0][0]: 0.95 * E[0] + 0.312 * E[4],  # the approval, in another article: the same fact
    BETA[0][1]: E[5],
}


@pytest.fixture(scope="module")
def index():
    alpha = make_article("alpha", ALPHA, title="Bridge approved", pages=[1, 2])
    beta = make_article("beta", BETA, title="Council minutes")
    return handmade_index([(alpha, ALPHA), (beta, BETA)], lambda s: VECTORS[s])


def hit_of(index, row):
    passage = index.passages[row]
    return Hit(passage=passage, title=index.articles[passage.doc_id].title, score=1.0 - 0.1 * row, rank=row + 1)


def span_of(index, row, phrase, score=5.0, passage=0):
    text = index.passages[row].text
    start = text.index(phrase)
    return SpanReading(passage, start, start + len(phrase), score)


def test_a_span_is_quoted_with_its_whole_sentence(index):
    quote = quote_for(hit_of(index, 1), span_of(index, 1, "40 million euros"), index)
    assert quote.text == "The bridge cost 40 million euros to build."
    article = index.articles["alpha"]
    assert article.text[quote.span.start : quote.span.end] == quote.text
    assert quote.sentence_rows == (index.passage_sentence_rows(1)[0],)


def test_a_sentence_that_leans_on_the_one_before_brings_it_along(index):
    """"Then work … began" cannot stand first alone: the sentence it leans on comes with it, in order."""
    quote = quote_for(hit_of(index, 0), span_of(index, 0, "a year later"), index)
    assert quote.text == " ".join(ALPHA[0])
    rows = index.passage_sentence_rows(0)
    assert quote.sentence_rows == (rows[0], rows[1])
    # "Its designer …" leans too ("Its"): the sentence before it comes along
    leaning = quote_for(hit_of(index, 1), span_of(index, 1, "Maria Lopez"), index)
    assert leaning.text == " ".join(ALPHA[1])


def test_a_span_across_two_sentences_quotes_both(index):
    text = index.passages[1].text
    start = text.index("euros")
    quote = quote_for(hit_of(index, 1), SpanReading(0, start, text.index("Lisbon") + 6, 3.0), index)
    assert quote.text == text


def reading_of(index, spans, nulls):
    hits = tuple(hit_of(index, r) for r in range(len(index.passages)))
    readings = tuple(
        PassageReading(p, nulls[p], tuple(s for s in spans if s.passage == p)) for p in range(len(hits))
    )
    chosen = max(spans, key=lambda s: s.score)
    question = Question("q", "q", (), "q", QuestionTerms((), (), "other", ()), False, "other")
    return Reading(question, hits, readings, Choice(chosen, {}), 0.9)


def test_the_same_fact_in_another_article_is_one_sentence_with_both_citations(index):
    approval = span_of(index, 0, "3 May 2019", 8.0, passage=0)
    minutes = span_of(index, 2, "3 May 2019", 7.5, passage=2)
    groups = quote_groups(reading_of(index, [approval, minutes], [0.0, 0.0, 0.0]), index)
    assert len(groups) == 1 and [q.hit.doc_id for q in groups[0]] == ["alpha", "beta"]
    text, citations = build_citations(groups, index)
    assert text == "The council approved the bridge on 3 May 2019. [1][2]"
    assert [c.doc_id for c in citations] == ["alpha", "beta"] and citations[0].page == 1
    assert same_fact(groups[0][0], groups[0][1], index)


def test_a_supporting_sentence_needs_the_reader_to_prefer_it_to_no_answer(index):
    chosen = span_of(index, 0, "3 May 2019", 8.0, passage=0)
    cost = span_of(index, 1, "40 million euros", 7.0, passage=1)
    kept = quote_groups(reading_of(index, [chosen, cost], [0.0, 0.0, 0.0]), index)
    assert [g[0].text for g in kept][1] == "The bridge cost 40 million euros to build."
    refused = quote_groups(reading_of(index, [chosen, cost], [0.0, 9.0, 0.0]), index)  # no answer there wins
    assert len(refused) == 1
    far = quote_groups(reading_of(index, [chosen, span_of(index, 1, "40 million euros", 2.0, 1)], [0.0, 0.0, 0.0]), index)
    assert len(far) == 1  # much weaker than the chosen span


def test_citations_quote_in_text_order_and_trimming_keeps_a_quotable_stretch(index):
    long = Quote(hit_of(index, 0), index.passages[0].sentences[0], ALPHA[0][0], ())
    trimmed = trim_to_words(long, 3)
    assert trimmed.text == "The council approved" and trimmed.span.end - trimmed.span.start == len(trimmed.text)
    assert trim_to_words(long, MAX_WORDS) is long


def test_the_short_answer_is_the_span_located_in_its_citation_and_the_answer(index):
    span = span_of(index, 1, "40 million euros", 8.0, passage=1)
    reading = reading_of(index, [span], [0.0, 0.0, 0.0])
    groups = quote_groups(reading, index)
    text, citations = build_citations(groups, index)
    short = short_answer_of(reading, groups[0][0], text, citations)
    assert short.text == "40 million euros" and short.citation == 1
    assert citations[0].text[short.start : short.end] == short.text == text[short.answer_start : short.answer_end]
    whole = SpanReading(1, 0, len("The bridge cost 40 million euros to build"), 8.0)
    reading = reading_of(index, [whole], [0.0, 0.0, 0.0])
    assert short_answer_of(reading, quote_groups(reading, index)[0][0], text, citations) is None  # says nothing shorter


# ---------------------------------------------------------------- the whole step, bag-of-words vectors

def answer(index, question, history=(), **options):
    """The answer step as Assistant.ask runs it with a reader: the question parsed once, then composed."""
    return compose_reader_answer(index, encode_bag, parse_question(question, history, index), **options)


def read(index, question, history=(), **options):
    return read_question(index, encode_bag, load_reader(), parse_question(question, history, index), **options)


def test_the_reader_says_why_in_its_notes(bag_index):
    ans = answer(bag_index, "When did the harbour authority approve the container terminal?", min_confidence=0.0)
    assert [n.split("=")[0] for n in ans.notes][:2] == ["margin", "best_margin"]


def test_a_follow_up_is_read_with_the_conversation(bag_index):
    question = "When did it begin?"
    history = ["  Tell me about the construction of the terminal  ", "", "\x00"]
    reading = read(bag_index, question, history, top_k=2)
    assert reading.question.text == question and reading.question.follow_up and "construction of the terminal" in reading.query.lower()
    assert reading.hits[0].doc_id == "port" and reading.hits[0].paragraph == 3 and len(reading.hits) == 2
    assert len(reading.readings) == 2
    alone = read(bag_index, question, top_k=2)
    assert alone.query == question
    ans = answer(bag_index, question, history, min_confidence=0.0)
    assert not ans.abstained and "June 2022" in ans.text and ans.retrieval_query == reading.query, ans.text


def test_an_acronym_the_articles_define_is_read_in_full():
    sentences = [["The Northport Harbour Authority (NHA) approved the terminal in March.",
                  "The NHA also runs the ferry port."]]
    index = handmade_index([(make_article("nha", sentences), sentences)])
    reading = read(index, "Who runs the NHA?", top_k=1)
    assert reading.query == "Who runs the NHA? (Northport Harbour Authority)"


def test_the_reader_reads_as_many_passages_as_it_was_chosen_with(bag_index):
    reader = load_reader()
    reading = read_question(bag_index, encode_bag, reader, parse_question("What did the stadium cost?", (), bag_index))
    assert len(reading.hits) == min(reader.passages_read, len(bag_index.passages)) == len(reading.readings)
