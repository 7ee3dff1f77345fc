"""The reader's decoding (checked against brute force), its tokenised windows, and the shipped model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import (
    MAX_ANSWER_TOKENS,
    MODEL_DIR,
    ConfidenceModel,
    PassageReading,
    Reader,
    ReaderError,
    SpanReading,
    Window,
    choose_span,
    load_reader,
    read_windows,
    window_spans,
)

REPO = Path(__file__).resolve().parents[2]


def brute_force_spans(start, end, in_passage, max_tokens, n_best):
    found = []
    for i in range(len(start)):
        for j in range(i, min(len(start), i + max_tokens)):
            if in_passage[i] and in_passage[j]:
                found.append((start[i] + end[j], i, j))
    return sorted(found, key=lambda t: -t[0])[:n_best]


@pytest.mark.parametrize("seed", range(5))
def test_window_spans_are_the_best_valid_spans_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 40
    start, end = rng.normal(size=n), rng.normal(size=n)
    in_passage = np.zeros(n, dtype=bool)
    in_passage[8:38] = True
    got = window_spans(start, end, in_passage, max_tokens=6, n_best=7)
    expected = brute_force_spans(start, end, in_passage, 6, 7)
    assert [(i, j) for _, i, j in got] == [(i, j) for _, i, j in expected]
    assert np.allclose([s for s, _, _ in got], [s for s, _, _ in expected])


def test_window_spans_never_leave_the_passage_nor_run_backwards():
    start = np.array([9.0, 8.0, 1.0, 0.0, 5.0])
    end = np.array([9.0, 8.0, 0.0, 6.0, 0.0])
    in_passage = np.array([False, False, True, True, True])
    spans = window_spans(start, end, in_passage, max_tokens=MAX_ANSWER_TOKENS, n_best=10)
    assert all(2 <= i <= j for _, i, j in spans)
    assert spans[0][1:] == (2, 3)  # 1 + 6 beats 5 + 0 (end before start is not allowed)
    assert window_spans(start, end, np.zeros(5, dtype=bool)) == []


def test_read_windows_keeps_the_lowest_null_and_merges_a_span_seen_in_two_windows():
    offsets = (None, None, (0, 4), (5, 9), None)
    windows = [Window(0, (1, 2, 3, 4, 5), (0,) * 5, offsets), Window(0, (1, 2, 3, 4, 5), (0,) * 5, offsets),
               Window(1, (1, 2, 3, 4, 5), (0,) * 5, offsets)]
    start = np.array([[3.0, 0, 2, 0, 0], [1.0, 0, 4, 0, 0], [0.0, 0, 0, 0, 0]])
    end = np.array([[3.0, 0, 0, 2, 0], [1.0, 0, 0, 1, 0], [0.0, 0, 0, 0, 0]])
    readings = read_windows(windows, start, end, 2)
    assert readings[0].null_score == 2.0  # min(6, 2)
    best = readings[0].spans[0]
    assert (best.start, best.end, best.score) == (0, 9, 5.0)  # the same characters: the higher score counts
    assert len({(s.start, s.end) for s in readings[0].spans}) == len(readings[0].spans)
    assert readings[1].passage == 1


def test_choose_span_weighs_the_retrieval_rank():
    first = PassageReading(0, 1.0, (SpanReading(0, 0, 5, 4.0),))
    second = PassageReading(1, 1.0, (SpanReading(1, 3, 9, 5.0),))
    assert choose_span([first, second], rank_penalty=0.0).span.passage == 1
    chosen = choose_span([first, second], rank_penalty=2.0)
    assert chosen.span.passage == 0
    assert chosen.features["margin"] == 3.0 and chosen.features["best_margin"] == 4.0
    assert chosen.features["rank"] == 0.0 and 0 < chosen.features["share"] < 0.5
    assert choose_span([PassageReading(0, 1.0, ())], 0.0) is None


def test_confidence_model_round_trips_as_plain_data():
    model = ConfidenceModel(("margin", "rank"), (1.0, 0.0), (2.0, 1.0), (1.5, -0.5), 0.25)
    again = ConfidenceModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    z = ((3.0 - 1.0) / 2.0) * 1.5 + (1.0 * -0.5) + 0.25
    assert again.probability({"margin": 3.0, "rank": 1.0}) == pytest.approx(1 / (1 + np.exp(-z)))


def test_windows_cover_a_passage_longer_than_one_window_with_offsets_into_it():
    reader = load_reader()
    text = " ".join(f"Sentence number {i} tells that the harbour of Veland held {i} ships." for i in range(60))
    windows = reader.tokenizer.windows("How many ships did the harbour hold?", [text, "Short one."])
    assert len({w.passage for w in windows}) == 2
    long_windows = [w for w in windows if w.passage == 0]
    assert len(long_windows) > 1 and all(len(w.ids) <= 256 for w in windows)
    for w in long_windows:
        for o in w.offsets:
            if o is not None:
                assert 0 <= o[0] <= o[1] <= len(text)
    seen = {o for w in long_windows for o in w.offsets if o is not None}
    assert max(b for _, b in seen) == len(text)  # the last window reaches the end of the passage


def test_a_huge_question_still_leaves_room_for_the_passage():
    reader = load_reader()
    windows = reader.tokenizer.windows("why " * 3000, ["The harbour of Veland held twelve ships."])
    assert sum(o is not None for o in windows[0].offsets) >= 8


def test_the_reader_finds_the_phrase_that_answers():
    reader = load_reader()
    passages = [
        "The festival of Ostria is held every spring in the old port.",
        "The bridge over the Vel river was opened in 1931 by the engineer Mara Lind, after six years of work.",
    ]
    readings = reader.read("Who opened the bridge over the Vel river?", passages)
    choice = choose_span(readings, reader.rank_penalty)
    assert "Mara Lind" in passages[choice.span.passage][choice.span.start : choice.span.end]
    when = choose_span(reader.read("When was the bridge over the Vel river opened?", passages), reader.rank_penalty)
    assert passages[when.span.passage][when.span.start : when.span.end] == "1931"


def test_the_shipped_manifest_names_the_data_it_was_trained_on_and_the_model_it_made():
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    data = REPO / "data" / "squad2"
    for name, digest in manifest["data"].items():
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest, name
    assert set(manifest["data"]) == {"train-ten-articles.json", "dev-twenty-five-articles.json",
                                     "squad11-thirteen-articles.json"}
    model = MODEL_DIR / manifest["model_file"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == manifest["model_sha256"]
    assert model.stat().st_size < 30 * 2**20
    assert manifest["seed"] == 13 and manifest["steps"] > 0
    assert not set(manifest["held_out_articles"]) & {"Normans", "Computational_complexity_theory"}
    assert 0 < manifest["min_confidence"] < 1 and manifest["decoding"]["passages"] >= 1


def test_a_corrupt_reader_is_a_clear_error(tmp_path):
    for name in ("manifest.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    (tmp_path / json.loads((MODEL_DIR / "manifest.json").read_text())["model_file"]).write_bytes(b"not a graph")
    with pytest.raises(ReaderError, match="train-reader"):
        Reader(tmp_path)
    with pytest.raises(ReaderError):
        Reader(tmp_path / "missing")
