"""Retrieval: fusion against a hand-computed reference, acronyms, filters, and hybrid search on the seeds."""

import numpy as np
import pytest

from rag.index.recipe import mine_acronyms
from rag.answer.question import expand_acronyms
from rag.answer.retrieval import reciprocal_rank_fusion


def test_rrf_matches_a_hand_computed_reference():
    # dense ranks rows 3, 1, 2; BM25 ranks 1, 4. With k = 60:
    # 1: 1/62 + 1/61, 3: 1/61, 4: 1/62, 2: 1/63
    fused = reciprocal_rank_fusion([[3, 1, 2], [1, 4]], k=60)
    assert [s.row for s in fused] == [1, 3, 4, 2]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[3].score == pytest.approx(1 / 63)


def test_rrf_weights_and_ties():
    fused = reciprocal_rank_fusion([[1], [2]], k=1, weights=[1.0, 3.0])
    assert [s.row for s in fused] == [2, 1] and fused[0].score == pytest.approx(1.5)
    tie = reciprocal_rank_fusion([[5], [4]], k=10)
    assert [s.row for s in tie] == [4, 5]  # equal scores: lower row first, deterministic
    assert reciprocal_rank_fusion([]) == []


def test_acronyms_are_mined_from_definitions_and_checked_against_initials():
    text = ("China's Belt and Road Initiative (BRI) and the Asian Infrastructure Investment Bank (AIIB) "
            "met the Partnership for Quality Infrastructure (PQI) and Asia-Pacific Economic Cooperation (APEC), "
            "but not a random thing (XYZ).")
    found = mine_acronyms([text])
    assert found["BRI"] == "Belt and Road Initiative"
    assert found["AIIB"] == "Asian Infrastructure Investment Bank"
    assert found["PQI"] == "Partnership for Quality Infrastructure"
    assert found["APEC"] == "Asia-Pacific Economic Cooperation"
    assert "XYZ" not in found
    assert expand_acronyms("What about the BRI?", found) == "What about the BRI? (Belt and Road Initiative)"
    assert "BRI" in expand_acronyms("the belt and road initiative", found)


def test_search_returns_cited_passages_best_first(seed_assistant):
    hits = seed_assistant.search("Why did China ban Japanese seafood?", top_k=5)
    assert len(hits) == 5
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].score >= hits[-1].score
    top = hits[0]
    assert "seafood" in top.text and top.title and top.paragraph >= 1
    assert top.url == f"/articles/{top.doc_id}#p{top.paragraph}"
    article = seed_assistant.articles[top.doc_id]
    assert article.text[top.passage.start : top.passage.end] == top.text


def test_acronym_question_finds_the_long_form(seed_assistant):
    hits = seed_assistant.search("What did Abe say about the BRI?", top_k=3, mode="bm25")
    assert any("Abe declared on 5 June 2017" in h.text for h in hits)


def test_a_paraphrase_finds_the_passages_it_does_not_quote(seed_assistant):
    question = "Why is Beijing blocking fish imports?"  # the articles say "ban" and "seafood"
    for mode in ("dense", "hybrid"):
        hits = seed_assistant.search(question, top_k=5, mode=mode)
        assert sum("seafood" in h.text for h in hits) >= 3, mode


def test_filter_by_article_and_empty_question(seed_assistant):
    doc = "001_53155a2f9b336c2e"
    hits = seed_assistant.search("seafood ban", top_k=3, doc_ids={doc})
    assert hits and all(h.doc_id == doc for h in hits)
    assert seed_assistant.search("   ") == []
    with pytest.raises(ValueError):
        seed_assistant.search("x", mode="nonsense")


# ---------------------------------------------------------------- three retrievers, three different winners

THREE_WAY_QUESTION = "Why did the council reject the bridge proposal?"
THREE_WAY = {
    # every question word, one per short sentence: BM25 on whole passages ranks it first
    "lexical": ("Council notes", "The council met on Tuesday. A proposal on parking fees was tabled. The bridge was "
                                 "painted. The reject pile was full."),
    # a paraphrase that answers, sharing only "bridge": closest in meaning
    "paraphrase": ("Crossing shelved", "Why was the bridge plan turned down? The town board said the crossing's costs "
                                       "had tripled."),
    # three question words in one sentence: first for sentence BM25, second for the other two lists
    "fused": ("Toll payments", "The council will reject cash for the bridge toll from May, drivers were told."),
    "stadium": ("Stadium opens", "The football club opened its new stadium on Saturday, with forty thousand fans "
                                 "watching the first match."),
    "library": ("Library hours", "The public library will stay open until nine in the evening from next month, the "
                                 "head librarian announced."),
    "harvest": ("Harvest report", "Farmers in the valley reported a record apple harvest this autumn thanks to a warm "
                                  "and dry summer."),
}


@pytest.fixture(scope="module")
def three_way(tmp_path_factory, embedder):
    from rag import Assistant

    from conftest import write_article

    folder = tmp_path_factory.mktemp("three-way")
    for name, (title, text) in THREE_WAY.items():
        write_article(folder, f"{name}.txt", title, [text])
    return Assistant(seeds_dir=folder, index_dir=tmp_path_factory.mktemp("three-way-index"), embedder=embedder)


def test_bm25_dense_and_hybrid_each_have_their_own_winner(three_way):
    """Dense ranks paraphrase > fused > lexical, passage BM25 lexical > fused, sentence BM25 fused first: only
    reciprocal rank fusion of all three puts `fused` on top. A hybrid that returned one list alone fails."""
    tops = {mode: three_way.search(THREE_WAY_QUESTION, top_k=3, mode=mode)[0].doc_id
            for mode in ("bm25", "dense", "hybrid")}
    assert tops == {"bm25": "lexical", "dense": "paraphrase", "hybrid": "fused"}
    hybrid = three_way.search(THREE_WAY_QUESTION, top_k=3, mode="hybrid")
    assert {h.doc_id for h in hybrid} == {"fused", "lexical", "paraphrase"}
    assert hybrid[0].dense_rank == 2 and hybrid[0].lexical_rank == 2  # second in both, first once fused


def test_the_default_mode_is_hybrid(three_way):
    assert three_way.search(THREE_WAY_QUESTION, top_k=1)[0].doc_id == "fused"


def test_an_article_filter_searches_all_of_its_passages_not_only_the_candidates(three_way):
    """With a filter every passage of the chosen articles is ranked, however few candidates the retriever takes
    (a corpus larger than CANDIDATES would otherwise lose the filtered article's passages). Mutation survivor."""
    from rag.answer.retrieval import Retriever

    index = three_way.index
    vector = three_way.encode_query(THREE_WAY_QUESTION)
    retriever = Retriever(index, candidates=1)
    assert [h.doc_id for h in retriever.search(THREE_WAY_QUESTION, vector, top_k=3, doc_ids={"harvest"})] == ["harvest"]
    assert len(retriever.search(THREE_WAY_QUESTION, vector, top_k=6)) <= 3  # unfiltered: the candidates only


# ---------------------------------------------------------------- the retriever on a hand-made index (no model)

from handmade import handmade_index, make_article  # noqa: E402

E = np.eye(8, dtype=np.float32)
QUERY = "Why did the council reject the bridge proposal?"
HANDMADE = {  # doc_id: paragraphs (sentences) with each sentence's vector; the query vector is E[0]
    "lexical": [[("The council met on Tuesday.", 0.3 * E[0] + E[2]), ("A proposal on parking fees was tabled.", E[2]),
                 ("The bridge was painted.", E[2]), ("The reject pile was full.", E[2])]],
    "paraphrase": [[("Why was the crossing plan turned down?", E[0]),
                    ("The town board said its costs had tripled.", 0.6 * E[0] + 0.8 * E[1])]],
    "fused": [[("The council will reject cash for the bridge toll from May.", 0.7 * E[0] + 0.714 * E[3])]],
    "stadium": [[("The football club opened its new stadium on Saturday.", E[4])],
                [("Forty thousand fans watched the first match.", 0.1 * E[0] + E[5])]],
    "harvest": [[("Farmers reported a record seafood harvest this autumn.", E[6])]],
}


@pytest.fixture(scope="module")
def handmade():
    vectors = {s: v for paragraphs in HANDMADE.values() for sentences in paragraphs for s, v in sentences}
    articles = []
    for doc_id, paragraphs in HANDMADE.items():
        sentences = [[s for s, _ in p] for p in paragraphs]
        articles.append((make_article(doc_id, sentences, title=f"About {doc_id}"), sentences))
    return handmade_index(articles, lambda s: vectors[s], neighbours={"fish": ["seafood"]})


def rows_of(index, *doc_ids):
    return [next(p.passage_id for p in index.passages if p.doc_id == d) for d in doc_ids]


def test_each_retriever_ranks_candidates_as_its_formula_says(handmade):
    """Dense: passage cosine plus best sentence cosine; passage BM25; sentence BM25 credited to the passage of
    the best sentence, each passage once."""
    from rag.answer.retrieval import Retriever

    ranked = Retriever(handmade).rankings(QUERY, E[0])
    index = handmade
    for scored in ranked.dense:
        rows = index.passage_sentence_rows(scored.row)
        best = max(float(index.sentence_vectors[r] @ E[0]) for r in rows)
        assert scored.score == pytest.approx(float(index.passage_vectors[scored.row] @ E[0]) + best, abs=1e-5)
    assert [s.score for s in ranked.dense] == sorted((s.score for s in ranked.dense), reverse=True)
    assert [s.row for s in ranked.dense][:3] == rows_of(index, "paraphrase", "fused", "lexical")
    assert len(ranked.dense) == len(index.passages)
    assert [s.row for s in ranked.lexical] == rows_of(index, "lexical", "fused")
    assert [s.row for s in ranked.sentence_lexical] == rows_of(index, "fused", "lexical")
    assert ranked.sentence_lexical[0].score > ranked.sentence_lexical[1].score > 0


def test_hybrid_fuses_three_lists_and_reports_each_rank(handmade):
    from rag.answer.retrieval import RRF_K, Retriever

    retriever = Retriever(handmade)
    tops = {mode: retriever.search(QUERY, E[0], top_k=3, mode=mode)[0].doc_id for mode in ("dense", "bm25", "hybrid")}
    assert tops == {"dense": "paraphrase", "bm25": "lexical", "hybrid": "fused"}
    hits = retriever.search(QUERY, E[0], top_k=3)
    assert [h.doc_id for h in hits] == ["fused", "lexical", "paraphrase"] and [h.rank for h in hits] == [1, 2, 3]
    fused, lexical, paraphrase = hits
    assert (fused.dense_rank, fused.lexical_rank) == (2, 2) and (lexical.dense_rank, lexical.lexical_rank) == (3, 1)
    assert (paraphrase.dense_rank, paraphrase.lexical_rank) == (1, None)
    best_possible = 3 / (RRF_K + 1)  # first in all three lists
    assert fused.score == pytest.approx(round((2 / (RRF_K + 2) + 1 / (RRF_K + 1)) / best_possible, 4))
    assert paraphrase.score == pytest.approx(round((1 / (RRF_K + 1)) / best_possible, 4))
    assert fused.title == "About fused" and fused.passage.doc_id == "fused"
    dense = retriever.rankings(QUERY, E[0]).dense
    assert fused.dense_score == pytest.approx(next(s.score for s in dense if s.row == fused.passage.passage_id))
    assert len(retriever.search(QUERY, E[0], top_k=2)) == 2
    single = retriever.search(QUERY, E[0], top_k=1, mode="dense")[0]
    assert single.score == 1.0 and single.dense_rank == 1
    with pytest.raises(ValueError, match=r"mode must be one of \('hybrid', 'dense', 'bm25'\)"):
        retriever.search(QUERY, E[0], mode="sparse")


def test_fusion_constant_and_weights_are_the_callers_to_choose(handmade):
    from rag.answer.retrieval import Retriever

    # k = 1: fused 1/3 + 1/3 + 1/2, lexical 1/4 + 1/2 + 1/3, out of 3/2 for first everywhere
    hits = Retriever(handmade, rrf_k=1.0).search(QUERY, E[0], top_k=2)
    assert [h.doc_id for h in hits] == ["fused", "lexical"]
    assert hits[0].score == pytest.approx(round((1 / 3 + 1 / 3 + 1 / 2) / 1.5, 4))
    assert hits[1].score == pytest.approx(round((1 / 4 + 1 / 2 + 1 / 3) / 1.5, 4))
    per_call = Retriever(handmade).search(QUERY, E[0], top_k=2, rrf_k=1.0)
    assert [h.score for h in per_call] == [h.score for h in hits]
    dense_only = Retriever(handmade, lexical_weight=0.0).search(QUERY, E[0], top_k=1)[0]
    assert dense_only.doc_id == "paraphrase" and dense_only.score == 1.0
    lexical_only = Retriever(handmade, dense_weight=0.0).search(QUERY, E[0], top_k=1)[0]
    assert lexical_only.doc_id == "lexical" and lexical_only.score == pytest.approx(round((1 / 61 + 1 / 62) / (2 / 61), 4))


def test_a_filter_ranks_every_passage_of_its_articles(handmade):
    from rag.answer.retrieval import Retriever

    retriever = Retriever(handmade, candidates=1)
    hits = retriever.search("stadium fans", E[0], top_k=5, doc_ids={"stadium"})
    assert sorted(h.paragraph for h in hits) == [1, 2] and {h.doc_id for h in hits} == {"stadium"}
    assert retriever.search(QUERY, E[0], top_k=5, doc_ids={"harvest", "stadium"})[0].doc_id in {"harvest", "stadium"}
    unfiltered = retriever.search(QUERY, E[0], top_k=10)
    assert {h.doc_id for h in unfiltered} <= {"paraphrase", "lexical", "fused"} and len(unfiltered) < len(handmade.passages)


def test_a_word_the_corpus_never_uses_is_searched_through_its_neighbours(handmade):
    from rag.answer.retrieval import Retriever

    hits = Retriever(handmade).search("fish", E[7], top_k=1, mode="bm25")
    assert [h.doc_id for h in hits] == ["harvest"]
    # both BM25 lists search the neighbours, at the expansion weight
    from rag.index.expansion import EXPANSION_WEIGHT

    fish, seafood = Retriever(handmade).rankings("fish", E[7]), Retriever(handmade).rankings("seafood", E[7])
    harvest = rows_of(handmade, "harvest")
    assert [s.row for s in fish.sentence_lexical] == [s.row for s in seafood.sentence_lexical] == harvest
    assert fish.lexical[0].score == pytest.approx(EXPANSION_WEIGHT * seafood.lexical[0].score)
    assert fish.sentence_lexical[0].score == pytest.approx(EXPANSION_WEIGHT * seafood.sentence_lexical[0].score)
    assert Retriever(handmade).search("wombat", E[7], top_k=3, mode="bm25") == []
