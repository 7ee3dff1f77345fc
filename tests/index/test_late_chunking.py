"""Late chunking: token spans of sentences, pooling, and the ONNX path against the torch reference."""

import numpy as np
import pytest

from rag.index.embedder import Embedder
from rag.index.late_chunking import pool_ranges, token_ranges

PASSAGE = "The harbour authority approved a terminal. Critics said it would damage wetlands! The mayor disagreed."
SPANS = [(0, 42), (43, 81), (82, 102)]


def test_token_ranges_split_the_tokens_by_sentence_and_skip_special_tokens():
    # [CLS] The harbour . [SEP]-like layout: offsets as a fast tokenizer gives them
    offsets = [(0, 0), (0, 3), (4, 11), (11, 12), (13, 16), (17, 20), (20, 21), (0, 0)]
    special = [1, 0, 0, 0, 0, 0, 0, 1]
    assert token_ranges(offsets, special, [(0, 12), (13, 21)]) == [(1, 4), (4, 7)]
    assert token_ranges(offsets, special, [(0, 12), (30, 40)]) == [(1, 4), (0, 0)]  # no token: cut off
    assert token_ranges(offsets, special, []) == []


def test_pooling_is_the_normalised_mean_of_the_range():
    tokens = np.array([[9, 9], [1, 0], [3, 0], [0, 2]], dtype=np.float32)
    pooled = pool_ranges(tokens, [(1, 3), (3, 4), (0, 0)])
    assert np.allclose(pooled, [[1, 0], [0, 1], [0, 0]])


@pytest.fixture(scope="module")
def torch_embedder():
    embedder = Embedder(backend="torch")
    embedder.warm_up()
    return embedder


def test_onnx_late_chunking_gives_the_torch_reference_vectors(embedder, torch_embedder):
    texts = [PASSAGE, "Hi there. Bye.", "One sentence only"]
    spans = [SPANS, [(0, 9), (10, 14)], [(0, 17)]]
    onnx, reference = embedder.encode_in_context(texts, spans), torch_embedder.encode_in_context(texts, spans)
    assert embedder.active_backend == "onnx"
    assert onnx.sentences.shape == (6, 384) and onnx.passages.shape == (3, 384)
    assert np.sum(onnx.sentences * reference.sentences, axis=1).min() > 0.9999
    assert np.sum(onnx.passages * reference.passages, axis=1).min() > 0.9999
    # the passage vector is the one encode() gives: one forward pass serves both
    assert np.sum(onnx.passages * embedder.encode(texts), axis=1).min() > 0.9999
    assert np.allclose(np.linalg.norm(onnx.sentences, axis=1), 1, atol=1e-5)


def test_a_sentence_is_closest_to_its_own_text_embedded_alone(embedder):
    vectors = embedder.encode_in_context([PASSAGE], [SPANS]).sentences
    alone = embedder.encode([PASSAGE[a:b] for a, b in SPANS])
    assert list(np.argmax(vectors @ alone.T, axis=1)) == [0, 1, 2]


def test_a_sentence_cut_off_by_truncation_is_embedded_on_its_own(embedder):
    long = "The harbour authority approved a new terminal after a long debate. " * 40
    tail = "The mayor resigned in protest."
    text = long + tail
    got = embedder.encode_in_context([text], [[(0, 10), (len(long), len(text))]]).sentences
    assert np.dot(got[1], embedder.encode([tail])[0]) > 0.9999


def test_a_bulk_build_on_one_session_per_core_gives_the_same_vectors(embedder, monkeypatch):
    from rag.index import encoder as embedding

    texts = [f"Ferry route {i} crosses the strait. It leaves at {i} o'clock! Tickets cost {i} yen." for i in range(40)]
    spans = [[(0, t.index(".") + 1), (t.index(".") + 2, t.index("!") + 1), (t.index("!") + 2, len(t))] for t in texts]
    single = embedder.encode_in_context(texts, spans)
    monkeypatch.setattr(embedding, "BULK_MIN_TEXTS", 1)
    monkeypatch.setenv(embedding.THREADS_ENV, "2")
    encoder = embedder._model
    monkeypatch.setattr(encoder, "_bulk", None)
    embedder.batch_size = 3  # many small batches across the sessions
    try:
        bulk = embedder.encode_in_context(texts, spans)
    finally:
        embedder.batch_size = None
    assert len(encoder.bulk_sessions()) == 2
    assert np.abs(bulk.passages - single.passages).max() < 1e-5
    assert np.abs(bulk.sentences - single.sentences).max() < 1e-5
