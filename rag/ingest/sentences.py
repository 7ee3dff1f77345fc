"""Sentence splitting: a Punkt model trained on the corpus itself (nltk's packaged data is not available offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # nltk costs seconds to import: only the index build pays for it
    from nltk.tokenize.punkt import PunktSentenceTokenizer

# Abbreviations Punkt cannot learn from a small corpus but news text uses (lower case, no final period).
SEED_ABBREVIATIONS = frozenset(
    "u.s u.k u.n e.u no nos prof dr mr mrs ms st jr sr gen gov sen rep lt col capt sgt "
    "inc corp co ltd dept univ e.g i.e vs approx est fig jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def train_punkt_parameters(texts: Iterable[str]) -> dict:
    """Learn Punkt parameters (abbreviations, collocations, sentence starters) from the corpus text."""
    from nltk.tokenize.punkt import PunktTrainer

    trainer = PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    for text in texts:
        trainer.train(text, finalize=False)
    trainer.finalize_training()
    params = trainer.get_params()
    return {
        "abbrev_types": sorted(set(params.abbrev_types) | SEED_ABBREVIATIONS),
        "collocations": sorted([a, b] for a, b in params.collocations),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def tokenizer_from_parameters(data: dict) -> "PunktSentenceTokenizer":
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(data["abbrev_types"])
    params.collocations = {tuple(pair) for pair in data["collocations"]}
    params.sent_starters = set(data["sent_starters"])
    for word, flags in data["ortho_context"].items():
        params.ortho_context[word] = flags
    return PunktSentenceTokenizer(params)


def save_parameters(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def load_parameters(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def sentence_spans(tokenizer: "PunktSentenceTokenizer", text: str) -> list[tuple[int, int]]:
    """Sentence [start, end) offsets in `text`, covering every non-blank stretch of it."""
    spans = [(s, e) for s, e in tokenizer.span_tokenize(text) if text[s:e].strip()]
    return spans or ([(0, len(text))] if text.strip() else [])
