"""Chunking: passage size limits, offsets, short fragments, and the corpus-trained Punkt model."""

import pytest

from rag.ingest.chunking import chunk_article, pack_sentences, split_oversized
from rag.ingest.articles import clean_article, load_articles
from rag.ingest.sentences import sentence_spans, tokenizer_from_parameters, train_punkt_parameters
from rag.types import Span

from conftest import SEEDS


@pytest.fixture(scope="module")
def punkt():
    return tokenizer_from_parameters(train_punkt_parameters(a.text for a in load_articles(SEEDS)))


@pytest.fixture(scope="module")
def count_tokens():
    from rag.index.encoder import TokenCounter, default_model_path

    return TokenCounter(default_model_path())


def split(punkt):
    return lambda text: sentence_spans(punkt, text)


def test_punkt_keeps_abbreviations_inside_sentences(punkt):
    text = ("Beijing banned seafood after the release from the Fukushima No. 1 nuclear power plant. "
            "The U.S. rules are aimed specifically at China, whereas Tokyo's changes are not. Dr. Lee agreed.")
    sentences = [text[s:e] for s, e in sentence_spans(punkt, text)]
    assert sentences == [
        "Beijing banned seafood after the release from the Fukushima No. 1 nuclear power plant.",
        "The U.S. rules are aimed specifically at China, whereas Tokyo's changes are not.",
        "Dr. Lee agreed.",
    ]


def test_seed_passages_round_trip_and_fit_the_model(punkt, count_tokens):
    first_id = 0
    for article in load_articles(SEEDS):
        passages = chunk_article(article, split(punkt), count_tokens, first_id)
        first_id += len(passages)
        for p in passages:
            assert p.text == article.text[p.start : p.end]
            assert count_tokens(p.text) <= 254
            assert p.sentences[0].start == p.start and p.sentences[-1].end == p.end
            for s in p.sentences:
                assert p.start <= s.start < s.end <= p.end
        # every paragraph's text is in some passage: nothing lost
        covered = "".join(article.text[p.start : p.end] for p in passages)
        for para in article.paragraphs:
            assert article.paragraph_text(para)[:40] in covered


def test_long_paragraph_splits_at_sentences_without_losing_its_tail(punkt, count_tokens):
    sentences = [f"Sentence number {i} talks about the ministers and the long negotiations in detail." for i in range(60)]
    article = clean_article("Title\n\n" + " ".join(sentences) + "\n", "long.txt")
    passages = chunk_article(article, split(punkt), count_tokens, max_tokens=60)
    assert len(passages) > 1
    assert all(count_tokens(p.text) <= 60 for p in passages)
    assert passages[-1].text.endswith("Sentence number 59 talks about the ministers and the long negotiations in detail.")
    assert all(p.paragraph == 1 for p in passages)
    assert " ".join(p.text for p in passages) == article.paragraph_text(article.paragraphs[0])


def test_short_fragment_joins_its_neighbour(punkt, count_tokens):
    raw = ("Title line\n\nThe first paragraph is long enough to stand alone as a passage of its own, really.\n\n"
           "He agreed.\n\nThe third paragraph is also long enough to stand alone as a passage on its own.\n")
    article = clean_article(raw, "frag.txt")
    passages = chunk_article(article, split(punkt), count_tokens)
    assert len(passages) == 2
    assert passages[0].text.endswith("He agreed.") and passages[0].paragraph == 1
    assert passages[1].paragraph == 3


def test_a_sentence_longer_than_the_window_is_cut_into_fitting_windows(count_tokens):
    text = " ".join(["word"] * 500)
    parts = split_oversized(Span(0, len(text)), text, count_tokens, 100)
    assert all(count_tokens(text[s.start:s.end]) <= 100 for s in parts)
    assert sum(len(text[s.start:s.end].split()) for s in parts) == 500
    assert pack_sentences([Span(0, len(text))], text, count_tokens, 100) == [[p] for p in parts]


# ---------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

words = st.sampled_from("the port Mr. No. 1 U.S. ministers agreed , . ! ? “quote” 2023 Japan’s talks e.g. x".split())
paragraph = st.lists(words, min_size=1, max_size=120).map(" ".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(paragraphs=st.lists(paragraph, min_size=1, max_size=6), max_tokens=st.integers(min_value=8, max_value=80))
def test_chunking_offsets_round_trip_and_fit(punkt, count_tokens, paragraphs, max_tokens):
    article = clean_article("Title\n\n" + "\n\n".join(paragraphs) + "\n", "p.txt")
    passages = chunk_article(article, split(punkt), count_tokens, max_tokens=max_tokens)
    for p in passages:
        assert p.text == article.text[p.start : p.end]
        assert all(p.start <= s.start < s.end <= p.end for s in p.sentences)
        # every passage fits, unless it is a single word too long to cut
        assert count_tokens(p.text) <= max_tokens or len(p.text.split()) == 1
    # no word of any paragraph is lost
    kept = " ".join(p.text for p in passages).split()
    assert sorted(kept) == sorted(article.text.split())
