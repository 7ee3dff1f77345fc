"""The embedder a build and a query use: picks the backend (ONNX, exported once, or torch) and encodes in batches."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.index.encoder import (
    CACHE_ENV,
    DEFAULT_CACHE,
    TOKENIZE_CHUNK,
    OnnxEncoder,
    OnnxTokenizer,
    default_model_path,
    max_sequence_length,
    model_fingerprint,
)
from rag.index.late_chunking import ContextVectors, Span, pool_ranges, sentence_offsets, token_ranges

log = logging.getLogger(__name__)
BACKEND_ENV = "RAG_EMBED_BACKEND"
BACKENDS = ("auto", "onnx", "onnx-int8", "torch")
# What "auto" runs when onnxruntime is there: see docs/BENCHMARKS.md for the speed and eval figures behind it.
AUTO_ONNX = "onnx"


class TorchEncoder:
    """sentence-transformers on torch: the reference the ONNX graph is checked against, and the fallback."""

    name = "torch"
    default_batch = 64  # sentence-transformers' own default

    def __init__(self, model: str, device: str):
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device=device)
        self._source = model

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool = False) -> np.ndarray:
        return self._model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )

    def encode_in_context(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], batch_size: int, show_progress: bool = False
    ) -> ContextVectors:
        """The reference for late chunking: sentence-transformers' token embeddings (padding trimmed), the
        passage vector their mean, each span's vector the mean of its tokens. Token offsets come from the same
        tokenizer.json, read by `tokenizers`; a length mismatch would mean another tokenisation and raises."""
        tokenizer = OnnxTokenizer(self._source, self._model.max_seq_length)
        offsets = sentence_offsets(spans)
        passages = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentences = np.zeros((int(offsets[-1]), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            chunk = list(texts[start : start + TOKENIZE_CHUNK])
            token_lists = self._model.encode(
                chunk, batch_size=batch_size, output_value="token_embeddings", show_progress_bar=show_progress
            )
            for i, (tokens, encoding) in enumerate(zip(token_lists, tokenizer.encode(chunk))):
                tokens = np.asarray(tokens.float().cpu().numpy() if hasattr(tokens, "cpu") else tokens, np.float32)
                if len(tokens) != len(encoding.ids):
                    raise RuntimeError(f"tokenisations disagree ({len(tokens)} vs {len(encoding.ids)} tokens)")
                row = start + i
                passages[row] = pool_ranges(tokens, [(0, len(tokens))])[0]
                ranges = token_ranges(encoding.offsets, encoding.special_tokens_mask, spans[row])
                sentences[offsets[row] : offsets[row + 1]] = pool_ranges(tokens, ranges)
        return ContextVectors(passages, sentences)


def resolve_backend(backend: str | None) -> str:
    """The argument, else $RAG_EMBED_BACKEND, else "auto"; anything else is a ValueError."""
    chosen = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {BACKENDS}, not {chosen!r}")
    return chosen


def onnxruntime_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


class Embedder:
    """Sentence embeddings, L2-normalised float32. The model loads on `warm_up()` or first `encode()`.

    backend: "onnx" (the exported fp32 graph), "onnx-int8" (its dynamic int8 quantisation, for index and
    queries alike), "torch" (sentence-transformers), or "auto" (the default; or $RAG_EMBED_BACKEND):
    AUTO_ONNX when onnxruntime is installed and the graph is cached or can be exported, else torch. The fp32
    graph gives torch's vectors (cosine 1.0000), so an index built by either serves the other. The graph is
    exported once into `cache_dir` (default index/models/, or $RAG_MODEL_CACHE); only that export imports
    torch."""

    def __init__(
        self,
        model: str | None = None,
        batch_size: int | None = None,
        device: str = "cpu",
        backend: str | None = None,
        cache_dir: str | Path | None = None,
    ):
        self.model = model or default_model_path()
        self.batch_size = batch_size  # None: the backend's own default
        self.device = device
        self.backend = resolve_backend(backend)
        self.cache_dir = Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
        self._model = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """What the index records: torch and the fp32 graph give the same vectors and share it; int8 does not."""
        return model_fingerprint(self.model) + ("+int8" if self.backend == "onnx-int8" else "")

    @property
    def max_tokens(self) -> int:
        return max_sequence_length(self.model) - 2

    @property
    def active_backend(self) -> str | None:
        """The backend actually running ("onnx", "onnx-int8" or "torch"), once loaded."""
        return getattr(self._model, "name", None)

    @property
    def graph_path(self) -> Path | None:
        """The ONNX file the loaded encoder runs (None for torch, or before loading)."""
        return getattr(self._model, "path", None)

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                self._model = self._load()

    def _load(self):
        if self.backend == "torch":
            return self._load_torch()
        if self.backend != "auto":
            return self._load_onnx(self.backend)
        if onnxruntime_available():
            try:
                return self._load_onnx(AUTO_ONNX)
            except (ImportError, OSError, RuntimeError) as err:  # ExportError, or onnxruntime refusing the file
                log.warning("ONNX embedding unavailable (%s): using sentence-transformers", err)
        return self._load_torch()

    def _load_torch(self) -> TorchEncoder:
        log.info("loading embedding model %s (sentence-transformers)", self.model)
        return TorchEncoder(self.model, self.device)

    def _load_onnx(self, name: str) -> OnnxEncoder:
        from rag.index.onnx_export import ensure_onnx

        max_length = max_sequence_length(self.model)
        path = ensure_onnx(self.model, model_fingerprint(self.model), self.cache_dir, max_length, int8=name == "onnx-int8")
        log.info("loading embedding model %s (%s)", path, name)
        return OnnxEncoder(path, OnnxTokenizer(self.model, max_length), name)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return self._model.dimension

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), self.batch_size or self._model.default_batch, show_progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_in_context(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], show_progress: bool = False
    ) -> ContextVectors:
        """Each text's vector and, from the same forward pass, a vector per character span of it (late
        chunking, rag.index.late_chunking). A span truncation cut off is embedded on its own instead."""
        self.warm_up()
        if not texts:
            empty = np.zeros((0, self.dimension), dtype=np.float32)
            return ContextVectors(empty, empty.copy())
        batch = self.batch_size or self._model.default_batch
        vectors = self._model.encode_in_context(list(texts), [list(s) for s in spans], batch, show_progress)
        flat = [(text, span) for text, text_spans in zip(texts, spans) for span in text_spans]
        missing = [i for i, row in enumerate(vectors.sentences) if not row.any()]
        if missing:
            vectors.sentences[missing] = self.encode([flat[i][0][flat[i][1][0] : flat[i][1][1]] for i in missing])
        return vectors
