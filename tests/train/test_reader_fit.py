"""Choosing the reader's decoding and fitting its confidence, on readings made by hand."""

import numpy as np

from rag.answer.reader import CONFIDENCE_FEATURES, PassageReading, SpanReading
from rag.train.reader_fit import (
    ReadQuestion,
    choose_decoding,
    confidence_rows,
    fit_confidence,
    operating_point,
    sentence_at,
    sentence_hit,
)
from rag.evaluate.squad import SquadQuestion
from rag.types import Hit

from handmade import handmade_index, make_article

SENTENCES = [
    ["The mill opened in 1850.", "It closed in 1921."],
    ["The river floods every spring.", "A dam was built in 1960."],
]


def hits():
    index = handmade_index([(make_article("mill", SENTENCES), SENTENCES)])
    return tuple(Hit(p, "Mill", 1.0, i + 1) for i, p in enumerate(index.passages))


def span(hit_list, passage, phrase, score):
    start = hit_list[passage].text.index(phrase)
    return SpanReading(passage, start, start + len(phrase), score)


def question(text, answers):
    return SquadQuestion(text, text, "Mill", 0, tuple(answers), tuple(0 for _ in answers))


def test_the_sentence_at_an_offset():
    h = hits()
    assert sentence_at(h[0], h[0].text.index("1921")) == "It closed in 1921."
    assert sentence_at(h[1], 0) == "The river floods every spring."


def test_the_rank_penalty_is_chosen_where_it_gets_more_answer_sentences_right():
    h = hits()
    # the gold is in the top passage, a slightly stronger distractor in the second: a penalty fixes it
    items = [
        ReadQuestion(question("When did the mill close?", ["1921"]), h,
                     (PassageReading(0, 0.0, (span(h, 0, "1921", 5.0),)), PassageReading(1, 0.0, (span(h, 1, "1960", 5.4),))))
        for _ in range(3)
    ]
    decoding = choose_decoding(items)
    assert decoding["rank_penalty"] == 0.5 and decoding["passages"] == 3  # the smallest that works
    assert sentence_hit(items[0], 1, 0.0)[0] and not sentence_hit(items[0], 2, 0.0)[0]
    assert {(r["passages"], r["rank_penalty"]) for r in decoding["table"]} >= {(3, 0.0), (8, 3.0)}


def test_the_confidence_learns_the_margin_and_the_operating_point_maximises_accuracy():
    h = hits()
    rng = np.random.default_rng(0)
    items = []
    for i in range(200):
        answerable = i % 2 == 0
        null = float(rng.normal(0.0 if answerable else 6.0, 1.0))
        reading = (PassageReading(0, null, (span(h, 0, "1921", 4.0),)), PassageReading(1, 8.0, (span(h, 1, "1960", 1.0),)))
        q = question("When did the mill close?", ["1921"] if answerable else [])
        items.append(ReadQuestion(q, h, reading))
    x, y = confidence_rows(items, 2, 0.0)
    assert x.shape == (200, len(CONFIDENCE_FEATURES)) and y.sum() == 100
    model = fit_confidence(items, 2, 0.0)
    margin = CONFIDENCE_FEATURES.index("margin")
    assert model.coef[margin] > 0
    sure = model.probability(dict(zip(CONFIDENCE_FEATURES, x[0])))
    unsure = model.probability(dict(zip(CONFIDENCE_FEATURES, x[1])))
    assert sure > 0.5 > unsure
    threshold = operating_point(items, 2, 0.0, model)
    assert 0.05 <= threshold <= 0.95
    right = sum((yi == 1) == (model.probability(dict(zip(CONFIDENCE_FEATURES, xi))) >= threshold) for xi, yi in zip(x, y))
    assert right >= 0.9 * len(items)
