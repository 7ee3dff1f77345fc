"""Features of candidate sentences: each measure on small hand-made text, and candidates from a real index."""

import numpy as np
import pytest

from rag.answer.features import (
    SENTENCE_FEATURES,
    ANSWER_FEATURES,
    bigram_overlap,
    candidates_of,
    has_answer_type,
    novelty,
    rarest_missing,
    sentence_feature_matrix,
    term_coverage,
    token_coverage,
)
from rag.answer.question import QuestionTerms
from rag.index.tokens import lexical_tokens


def terms(words, weights=None, answer_type="other", names=(), expansions=()):
    stems = tuple(lexical_tokens(" ".join(words)))
    return QuestionTerms(stems, tuple(weights or [1.0] * len(stems)), answer_type, (), (), tuple(names), tuple(expansions))


def test_coverage_is_the_share_of_idf_weight_found():
    q = terms(["harbour", "terminal", "approved"], [1.0, 2.0, 1.0])
    assert term_coverage("The terminal was approved.", q) == pytest.approx(3 / 4)
    assert term_coverage("Nothing relevant here.", q) == 0.0
    assert term_coverage("Nothing here.", q, context={"harbour"}) == pytest.approx(1 / 4)


def test_an_expansion_term_counts_half():
    q = terms(["fish"], expansions=(("seafood",),))
    assert token_coverage(lexical_tokens("a seafood ban"), q) == pytest.approx(0.5)
    assert token_coverage(lexical_tokens("fish and seafood"), q) == pytest.approx(1.0)


def test_answer_types_need_new_evidence_of_the_asked_kind():
    when = terms(["treaty", "signed"], answer_type="when")
    assert has_answer_type("The treaty was signed in August 1978.", when)
    assert not has_answer_type("The treaty was signed after long talks.", when)
    asked_year = terms(["treaty", "1978"], answer_type="when")
    assert not has_answer_type("The 1978 treaty was signed.", asked_year)  # the year the question gave is not new
    response = terms(["respond", "ban"], answer_type="response")
    assert has_answer_type("In response, Ostria lodged a complaint.", response)
    assert not has_answer_type("Veland imposed a ban on seafood.", response)
    why = terms(["ban"], answer_type="why")
    assert has_answer_type("The ban was imposed, citing fears of a spill.", why)


def test_novelty_bigrams_and_missing_terms():
    q = terms(["seafood", "ban", "china"])
    assert novelty(lexical_tokens("China seafood ban"), q) == 0.0
    assert novelty(lexical_tokens("Tokyo protested loudly"), q) == 1.0
    assert bigram_overlap(lexical_tokens("a ban on seafood"), ["seafood", "ban"]) == 1.0  # adjacent once stop words go
    assert bigram_overlap(lexical_tokens("seafood exports and a ban"), ["seafood", "ban"]) == 0.0
    weighted = terms(["rare", "common"], [4.0, 1.0])
    assert rarest_missing({"common"}, weighted) == 1.0 and rarest_missing({"rare"}, weighted) == 0.25


def test_candidates_take_the_sentence_they_point_back_to(small_corpus, tmp_path, embedder):
    from rag import Assistant
    from rag.answer.question import parse_question

    (small_corpus / "accord.txt").write_text(
        "The accord\n\nThe accord was signed in the town of Kessel on 3 May 1990 after two years of talks. "
        "It took effect on 1 January 1991.\n",
        encoding="utf-8",
    )
    assistant = Assistant(seeds_dir=small_corpus, index_dir=tmp_path / "idx", embedder=embedder)
    index = assistant.index
    question = "When did the accord take effect?"
    vector = embedder.encode([question])[0]
    q = parse_question(question, (), index).terms
    hits = assistant.search(question, top_k=3)
    candidates = candidates_of(hits, index, vector, q)
    paired = [c for c in candidates if c.text.endswith("1 January 1991.")]
    assert paired and paired[0].text.startswith("The accord was signed") and len(paired[0].rows) == 2
    features = sentence_feature_matrix(candidates, index, vector, q)
    assert features.shape == (len(candidates), len(SENTENCE_FEATURES)) and np.isfinite(features).all()
    assert features[:, SENTENCE_FEATURES.index("cosine_gap")].max() == pytest.approx(0.0)
    assert len(set(ANSWER_FEATURES)) == len(ANSWER_FEATURES)
