"""The SQuAD evaluation: the official script's text rules, the corpus it builds, and the figures of a tiny set."""

import json

import pytest

from rag.evaluate.squad import (
    exact_match,
    f1_score,
    figures,
    holds_answer,
    load_squad,
    normalize_answer,
    run_squad,
    write_corpus,
)

TINY = {
    "version": "v2.0",
    "data": [
        {
            "title": "Harbour_town",
            "paragraphs": [
                {
                    "context": "Northport is a harbour town on the Aln estuary. Its lighthouse was built in 1821 by "
                    "the engineer Mara Quill, and it still guides the fishing fleet home every night.",
                    "qas": [
                        {"id": "q1", "question": "When was the lighthouse of Northport built?", "is_impossible": False,
                         "answers": [{"text": "1821", "answer_start": 80}]},
                        {"id": "q2", "question": "Who designed the Northport opera house?", "is_impossible": True,
                         "answers": []},
                    ],
                },
                {
                    "context": "The town council has nine members and meets every second Tuesday in the old "
                    "customs house beside the quay, where the public may attend.",
                    "qas": [
                        {"id": "q3", "question": "Where does the town council meet?", "is_impossible": False,
                         "answers": [{"text": "the old customs house", "answer_start": 70}]},
                    ],
                },
            ],
        }
    ],
}


def test_normalisation_and_scores_follow_the_official_script():
    assert normalize_answer("The  “Old” Customs-House!") == "old customshouse"
    assert exact_match("the old customs house", "Old customs house") == 1.0
    assert f1_score("old customs house", "the customs house beside the quay") == pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert f1_score("", "") == 1.0 and f1_score("x", "") == 0.0
    assert holds_answer("It was built in 1821, by Quill.", ["1821"])
    assert not holds_answer("In 18210 it was built.", ["1821"])  # whole words only


def test_load_and_write_corpus(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    squad = load_squad(path)
    assert [q.id for q in squad.questions] == ["q1", "q2", "q3"]
    assert squad.questions[1].answerable is False and squad.questions[2].paragraph == 1
    names = write_corpus(squad, tmp_path / "corpus")
    text = (tmp_path / "corpus" / "Harbour_town.txt").read_text()
    assert names == {"Harbour_town.txt": "Harbour_town"}
    assert text.startswith("Harbour town\n\nNorthport is a harbour town") and "\n\nThe town council" in text
    with pytest.raises(ValueError):
        (tmp_path / "bad.json").write_text("[]")
        load_squad(tmp_path / "bad.json")


def test_a_tiny_set_is_asked_and_scored_end_to_end(tmp_path, embedder):
    from rag import Assistant

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    squad = load_squad(path)
    write_corpus(squad, tmp_path / "corpus")
    assistant = Assistant(seeds_dir=tmp_path / "corpus", index_dir=tmp_path / "index", embedder=embedder)
    run = run_squad(assistant, squad)
    f = figures(run.outcomes)
    assert f.questions == 3 and f.answerable == 2 and f.recall_at_5 == 1.0
    lighthouse = run.outcomes[0]
    assert lighthouse.hit and lighthouse.first_hit  # the sentence with 1821 is quoted first
    assert figures(run.abstain_always).accuracy == pytest.approx(1 / 3)
    assert figures(run.abstain_always).unanswerable_auc == 0.5  # one confidence for all: no separation
    assert figures(run.best_cosine_sentence).false_abstain == 0.0
    assert 0.0 <= f.calibration_error <= 1.0
