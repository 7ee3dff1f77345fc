"""The extractive reader on the query path: the fine-tuned MiniLM under onnxruntime, spans and no-answer scores."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from rag.index.encoder import THREADS_ENV, cpu_count

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "reader"
MODEL_FILE = "reader.int8.onnx"
MANIFEST_FILE = "manifest.json"
TOKENIZER_FILE = "tokenizer.json"
READER_ENV = "RAG_READER"  # a folder holding another reader (model, tokenizer, manifest)
MAX_LENGTH = 256  # word pieces per window, as trained
STRIDE = 128
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
SPANS_PER_PASSAGE = 5


class ReaderError(RuntimeError):
    """The reader's files are missing or do not fit this code."""


@dataclass(frozen=True)
class SpanReading:
    """A candidate answer: characters [start, end) of the passage read at `passage`, with start + end logits."""

    passage: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class PassageReading:
    """What the reader made of one passage: its no-answer score and its best spans, best first."""

    passage: int
    null_score: float
    spans: tuple[SpanReading, ...]

    @property
    def best_score(self) -> float:
        return self.spans[0].score if self.spans else -np.inf


@dataclass(frozen=True)
class Window:
    """One tokenised (question, passage) window: ids, and each passage token's characters in the passage."""

    passage: int
    ids: tuple[int, ...]
    type_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int] | None, ...]  # None for question and special tokens


@dataclass(frozen=True)
class ConfidenceModel:
    """p = sigmoid(((x - mean) / scale) . coef + intercept) over named reader features; plain data."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, values: Mapping[str, float]) -> float:
        x = np.array([values[name] for name in self.features], dtype=np.float64)
        z = float(((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef) + self.intercept)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))))

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> "ConfidenceModel":
        return cls(
            tuple(data["features"]),
            tuple(map(float, data["mean"])),
            tuple(map(float, data["scale"])),
            tuple(map(float, data["coef"])),
            float(data["intercept"]),
        )


# ---------------------------------------------------------------- decoding (pure)


def window_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    in_passage: np.ndarray,
    max_tokens: int = MAX_ANSWER_TOKENS,
    n_best: int = SPANS_PER_PASSAGE,
) -> list[tuple[float, int, int]]:
    """The n best (score, first token, last token) spans of one window: both ends in the passage, the end
    not before the start and at most max_tokens apart; score = start logit + end logit."""
    positions = np.flatnonzero(in_passage)
    if positions.size == 0:
        return []
    s = start_logits[positions]
    e = end_logits[positions]
    scores = s[:, None] + e[None, :]
    gap = positions[None, :] - positions[:, None]
    scores = np.where((gap >= 0) & (gap < max_tokens), scores, -np.inf)
    flat = np.argsort(-scores, axis=None, kind="stable")[:n_best]
    out = []
    for k in flat:
        i, j = divmod(int(k), positions.size)
        if np.isfinite(scores[i, j]):
            out.append((float(scores[i, j]), int(positions[i]), int(positions[j])))
    return out


def read_windows(
    windows: Sequence[Window], start_logits: np.ndarray, end_logits: np.ndarray, n_passages: int
) -> tuple[PassageReading, ...]:
    """Per passage: the lowest no-answer score over its windows (as the SQuAD 2.0 reference decoding does)
    and its best distinct character spans over all its windows."""
    nulls = [np.inf] * n_passages
    spans: list[dict[tuple[int, int], float]] = [{} for _ in range(n_passages)]
    for w, window in enumerate(windows):
        n = len(window.ids)
        nulls[window.passage] = min(nulls[window.passage], float(start_logits[w, 0] + end_logits[w, 0]))
        in_passage = np.array([o is not None for o in window.offsets], dtype=bool)
        for score, i, j in window_spans(start_logits[w, :n], end_logits[w, :n], in_passage):
            key = (window.offsets[i][0], window.offsets[j][1])
            spans[window.passage][key] = max(score, spans[window.passage].get(key, -np.inf))
    out = []
    for p in range(n_passages):
        best = sorted(spans[p].items(), key=lambda kv: (-kv[1], kv[0]))[:SPANS_PER_PASSAGE]
        null = nulls[p] if np.isfinite(nulls[p]) else 0.0
        out.append(PassageReading(p, null, tuple(SpanReading(p, a, b, s) for (a, b), s in best)))
    return tuple(out)


# ---------------------------------------------------------------- the model


class ReaderTokenizer:
    """Question-passage windows with the model's word pieces (`tokenizers`, no transformers import)."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self._pair = Tokenizer.from_file(str(path))
        self._pair.no_padding()
        self._pair.enable_truncation(max_length=MAX_LENGTH, stride=STRIDE, strategy="only_second")
        self._single = Tokenizer.from_file(str(path))
        self._single.no_padding()
        self._single.no_truncation()
        self.pad_id = self._pair.token_to_id("[PAD]") or 0

    def short_question(self, question: str) -> str:
        """At most MAX_QUESTION_TOKENS word pieces of the question, so that a passage always fits beside it."""
        enc = self._single.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question
        return question[: enc.offsets[MAX_QUESTION_TOKENS - 1][1]]

    def windows(self, question: str, passages: Sequence[str]) -> list[Window]:
        question = self.short_question(question)
        out = []
        for p, text in enumerate(passages):
            enc = self._pair.encode(question, text)
            for e in [enc, *enc.overflowing]:
                offsets = tuple(
                    tuple(o) if seq == 1 else None for o, seq in zip(e.offsets, e.sequence_ids)
                )
                out.append(Window(p, tuple(e.ids), tuple(e.type_ids), offsets))
        return out

    def batch(self, windows: Sequence[Window]) -> dict[str, np.ndarray]:
        width = max(len(w.ids) for w in windows)
        ids = np.full((len(windows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, w in enumerate(windows):
            ids[i, : len(w.ids)], mask[i, : len(w.ids)], types[i, : len(w.ids)] = w.ids, 1, w.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class Reader:
    """The ONNX reader and its manifest (passages to read, decoding, confidence model, operating point)."""

    def __init__(self, folder: str | Path | None = None):
        import onnxruntime

        folder = Path(folder or os.environ.get(READER_ENV) or MODEL_DIR)
        try:
            self.manifest = json.loads((folder / MANIFEST_FILE).read_text())
            model = folder / self.manifest.get("model_file", MODEL_FILE)
            self.tokenizer = ReaderTokenizer(folder / TOKENIZER_FILE)
            options = onnxruntime.SessionOptions()
            # the encoder's thread setting (RAG_EMBED_THREADS, default every core): one knob for both graphs
            options.intra_op_num_threads = int(os.environ.get(THREADS_ENV) or cpu_count())
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # a missing file, bad JSON, or onnxruntime's own error for a corrupt graph
            raise ReaderError(f"the reader in {folder} is unusable ({err}): run `python -m rag train-reader`") from err
        decoding = self.manifest.get("decoding", {})
        self.passages_read = int(decoding.get("passages", 5))
        self.rank_penalty = float(decoding.get("rank_penalty", 0.0))
        confidence = self.manifest.get("confidence")
        self.confidence = ConfidenceModel.from_dict(confidence) if confidence else None
        self.min_confidence = float(self.manifest.get("min_confidence", 0.5))
        self.folder = folder

    def logits(self, windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        start, end = self._session.run(["start_logits", "end_logits"], self.tokenizer.batch(windows))
        return start.astype(np.float64), end.astype(np.float64)

    def read(self, question: str, passages: Sequence[str]) -> tuple[PassageReading, ...]:
        """Every passage read beside the question in one batch."""
        if not passages:
            return ()
        windows = self.tokenizer.windows(question, passages)
        start, end = self.logits(windows)
        return read_windows(windows, start, end, len(passages))


@lru_cache(maxsize=4)
def load_reader(folder: str | None = None) -> Reader:
    """The shipped reader (or $RAG_READER's), loaded once per process."""
    return Reader(folder)


# ---------------------------------------------------------------- across passages (pure)

CONFIDENCE_FEATURES = ("margin", "best_margin", "top_margin", "min_null", "score", "rank", "share")


@dataclass(frozen=True)
class Choice:
    """The span the answer is built on, and the reader's evidence for and against answering at all."""

    span: SpanReading
    features: Mapping[str, float]


def choose_span(readings: Sequence[PassageReading], rank_penalty: float) -> Choice | None:
    """The best span over every passage read: span scores are comparable across passages (the reader was
    trained with one softmax over all passages of a question), less `rank_penalty` per retrieval rank."""
    spans = [s for r in readings for s in r.spans]
    if not spans:
        return None
    best = max(spans, key=lambda s: (s.score - rank_penalty * s.passage, -s.passage, -s.start))
    return Choice(best, reading_features(readings, best))


def reading_features(readings: Sequence[PassageReading], chosen: SpanReading) -> dict[str, float]:
    """What the confidence model weighs: the chosen span against its passage's no-answer score, the best such
    margin anywhere, the top passage's, how much of the span probability mass the chosen span holds."""
    scores = np.array([s.score for r in readings for s in r.spans])
    top = scores.max()
    share = float(np.exp(chosen.score - top) / np.exp(scores - top).sum())
    margins = [r.best_score - r.null_score for r in readings if r.spans]
    return {
        "margin": chosen.score - readings[chosen.passage].null_score,
        "best_margin": max(margins),
        "top_margin": readings[0].best_score - readings[0].null_score if readings[0].spans else -50.0,
        "min_null": min(r.null_score for r in readings),
        "score": chosen.score,
        "rank": float(chosen.passage),
        "share": share,
    }
