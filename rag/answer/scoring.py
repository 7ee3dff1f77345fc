"""Fitted scoring applied with numpy: the answer-sentence, answerability and short-answer models, loaded from JSON.

The models are fitted by `python -m rag fit` (rag/train/fitting.py, scikit-learn, fit time only); here they are plain
data — feature names, standardisation, coefficients — so the query path needs nothing but numpy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

PARAMETERS_FILE = Path(__file__).resolve().parents[1] / "models" / "answer_scorer.json"
PARAMETERS_VERSION = 1


class ScorerError(ValueError):
    """A parameter file that does not fit this code (other features, other version)."""


@dataclass(frozen=True)
class LogisticModel:
    """p = sigmoid(((x - mean) / scale) . coef + intercept): a standardised logistic regression."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(positive) for each row of features (in `self.features` order)."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.features))
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "LogisticModel":
        model = cls(
            tuple(data["features"]),
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["scale"]),
            tuple(float(v) for v in data["coef"]),
            float(data["intercept"]),
        )
        if not len(model.features) == len(model.mean) == len(model.scale) == len(model.coef):
            raise ScorerError("model arrays disagree in length")
        return model

    def probabilities_in(self, matrix: np.ndarray, pool: Sequence[str]) -> np.ndarray:
        """P(positive) for each row of a matrix whose columns are the features named in `pool` (the model uses
        the ones it was fitted on)."""
        try:
            columns = [pool.index(name) for name in self.features]
        except ValueError:
            raise ScorerError("the model was fitted on features this code lacks: refit with `python -m rag fit`") from None
        return self.probabilities(np.asarray(matrix, dtype=np.float64).reshape(-1, len(pool))[:, columns])


@dataclass(frozen=True)
class Scorer:
    """The three fitted models and their operating points: answer when confidence >= min_confidence; add a
    further sentence when its answer-sentence probability >= min_support; give a short answer when the phrase's
    probability >= min_span_probability."""

    sentence: LogisticModel
    answerable: LogisticModel
    span: LogisticModel
    min_confidence: float
    min_support: float
    min_span_probability: float
    fitted_on: tuple[str, ...] = ()  # the groups of labelled questions the fit used ("news", "squad:Normans" …)
    held_out: Mapping[str, "Scorer"] = field(default_factory=dict)  # the same fit without one group

    def without(self, group: str) -> "Scorer":
        """The scorer fitted without `group`, for an honest figure on that group's questions."""
        if group not in self.fitted_on:
            return self
        if group not in self.held_out:
            raise ScorerError(f"no fit without {group!r} in the parameter file")
        return self.held_out[group]

    def to_dict(self) -> dict:
        return {
            "version": PARAMETERS_VERSION,
            "sentence": self.sentence.to_dict(),
            "answerable": self.answerable.to_dict(),
            "span": self.span.to_dict(),
            "min_confidence": self.min_confidence,
            "min_support": self.min_support,
            "min_span_probability": self.min_span_probability,
            "fitted_on": list(self.fitted_on),
            "held_out": {k: v.to_dict() for k, v in sorted(self.held_out.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "Scorer":
        if data.get("version") != PARAMETERS_VERSION:
            raise ScorerError("parameter file version differs: refit with `python -m rag fit`")
        return cls(
            sentence=LogisticModel.from_dict(data["sentence"]),
            answerable=LogisticModel.from_dict(data["answerable"]),
            span=LogisticModel.from_dict(data["span"]),
            min_confidence=float(data["min_confidence"]),
            min_support=float(data["min_support"]),
            min_span_probability=float(data["min_span_probability"]),
            fitted_on=tuple(data.get("fitted_on", ())),
            held_out={k: cls.from_dict({**v, "version": PARAMETERS_VERSION}) for k, v in data.get("held_out", {}).items()},
        )


def scorer_to_json(scorer: Scorer) -> str:
    """Stable text (sorted keys, rounded floats) so a refit can be compared with the shipped file byte for byte."""
    return json.dumps(round_floats(scorer.to_dict()), indent=1, sort_keys=True) + "\n"


def round_floats(value, digits: int = 6):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    return value


def load_scorer(path: str | Path | None = None) -> Scorer:
    return _load(str(Path(path) if path else PARAMETERS_FILE))


@lru_cache(maxsize=8)
def _load(path: str) -> Scorer:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ScorerError(f"answer scorer parameters unreadable ({Path(path).name}): {err}") from err
    return Scorer.from_dict(data)


def group_of_questions(kind: str, texts: Sequence[str]) -> str:
    """A name for a labelled question set, from its content (so a renamed copy is still recognised)."""
    digest = hashlib.sha256("\n".join(sorted(texts)).encode("utf-8")).hexdigest()[:12]
    return f"{kind}:{digest}"
