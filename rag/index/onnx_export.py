"""ONNX export: the sentence-transformers model (transformer + pooling + normalise) as one ONNX graph, once."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# bump when the graph recipe changes: a new cache folder, old files left alone. 3: the token embeddings are
# a second output (late chunking pools sentence vectors from them).
EXPORT_VERSION = "3"
OPSET = 17
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
INFO_FILE = "export.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("embedding", "token_embeddings")  # pooled + normalised; the transformer's last hidden state
# The exported graph must reproduce the torch model (padding included) or it is not published.
MIN_EXPORT_COSINE = 0.9999
MAX_TOKEN_ERROR = 1e-3  # token embeddings are unnormalised (|x| up to ~10): float32 rounding stays below this
MIN_INT8_COSINE = 0.9
CHECK_TEXTS = (
    "Why did China ban Japanese seafood?",
    "Hi",
    "The harbour authority of Northport approved a new container terminal on 3 March 2021 after a long debate.",
)


class ExportError(RuntimeError):
    """The model cannot be exported (unsupported pooling, torch missing, or the graph disagrees with torch)."""


def cache_folder(cache_dir: Path, fingerprint: str) -> Path:
    """One folder per model fingerprint and export recipe: a changed model never reuses an old graph."""
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in fingerprint)
    return Path(cache_dir) / safe / f"onnx-v{EXPORT_VERSION}"


def pooling_mode(model_dir: Path) -> str:
    """The pooling the sentence-transformers model declares in modules.json / 1_Pooling/config.json."""
    modules = json.loads((model_dir / "modules.json").read_text()) if (model_dir / "modules.json").is_file() else []
    kinds = [m.get("type", "") for m in modules]
    if modules and not all(k.endswith(("Transformer", "Pooling", "Normalize")) for k in kinds):
        raise ExportError(f"modules beyond transformer, pooling and normalize: {kinds}")
    pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
    config_path = model_dir / (pooling["path"] if pooling else "1_Pooling") / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {"pooling_mode_mean_tokens": True}
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    raise ExportError(f"unsupported pooling {modes}")


def sentence_model_module(model_dir: Path):
    """A torch module: token ids -> (pooled, L2-normalised vectors as the Embedder returns them, and the
    token embeddings they were pooled from)."""
    import torch
    from transformers import AutoModel

    mode = pooling_mode(model_dir)
    # Eager attention traces to plain MatMul/Softmax, which onnxruntime runs faster than the traced SDPA
    # path (measured here: +15-20% passages/s in bulk, -10% per query), with identical outputs.
    transformer = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class SentenceModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            # keyword arguments: transformers 5 puts `use_cache` etc. among the positional parameters
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1), hidden

    return SentenceModel().eval()


def check_inputs(model_dir: Path, max_length: int) -> dict[str, np.ndarray]:
    """A padded batch of texts of different lengths: the graph must honour the attention mask."""
    from rag.index.encoder import OnnxTokenizer

    return OnnxTokenizer(model_dir, max_length).batch(list(CHECK_TEXTS))


def export_fp32(model_dir: Path, target: Path, max_length: int) -> None:
    """torch.onnx.export (TorchScript tracer) with dynamic batch and sequence axes, checked against torch:
    the pooled vectors by cosine, the token embeddings (where the mask is 1) by absolute difference."""
    import warnings

    import torch

    module = sentence_model_module(model_dir)
    inputs = check_inputs(model_dir, max_length)
    args = tuple(torch.from_numpy(inputs[name]) for name in INPUT_NAMES)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes we keep dynamic
        # dynamo=False: the dynamo exporter needs onnxscript, an extra dependency, for no gain on BERT
        torch.onnx.export(
            module, args, str(target), input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_axes={**axes, "embedding": {0: "batch"}, "token_embeddings": {0: "batch", 1: "sequence"}},
            opset_version=OPSET, dynamo=False,
        )
        expected, expected_tokens = (t.numpy() for t in module(*args))
    got, got_tokens = run_graph(target, inputs, OUTPUT_NAMES)
    cosine = float(np.min(np.sum(expected * got, axis=1)))
    mask = inputs["attention_mask"].astype(bool)
    token_error = float(np.max(np.abs(expected_tokens[mask] - got_tokens[mask])))
    if cosine < MIN_EXPORT_COSINE or token_error > MAX_TOKEN_ERROR:
        raise ExportError(f"exported graph disagrees with torch (cosine {cosine:.5f}, tokens {token_error:.2g})")


def quantize_int8(source: Path, target: Path, model_dir: Path, max_length: int) -> float:
    """Dynamic int8 quantisation (weights per output channel, activations per run); returns the worst cosine
    to fp32. Per channel, because one scale per tensor cost a fact in the eval (eval questions: mean
    cosine to fp32 0.969 per tensor, 0.994 per channel, at the same speed)."""
    quantize_per_channel(source, target)
    inputs = check_inputs(model_dir, max_length)
    cosine = float(np.min(np.sum(run_graph(source, inputs) * run_graph(target, inputs), axis=1)))
    if cosine < MIN_INT8_COSINE:
        raise ExportError(f"int8 graph too far from fp32 (cosine {cosine:.3f})")
    return cosine


def quantize_per_channel(source: Path, target: Path) -> None:
    """onnxruntime's dynamic int8 quantisation, weights per output channel, without its log noise."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It advises pre-processing through logging.warning on every call, which would also configure the
    # root logger as a side effect: silence it, and give the root a handler so nothing gets configured.
    root, quiet = logging.getLogger(), logging.NullHandler()
    level = root.level
    root.addHandler(quiet)
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
        root.removeHandler(quiet)


def run_graph(path: Path, inputs: dict[str, np.ndarray], outputs: tuple[str, ...] | None = None):
    """The graph's first output (the pooled vectors), or the named outputs as a list."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in inputs.items() if k in names}
    return session.run(list(outputs), feed) if outputs else session.run(["embedding"], feed)[0]


def read_info(folder: Path) -> dict:
    try:
        return json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def ensure_onnx(model_dir: str | Path, fingerprint: str, cache_dir: str | Path, max_length: int, int8: bool) -> Path:
    """The cached ONNX file for this model, exporting (and quantising) it first if it is not there yet.

    Both files are written into a temporary folder and renamed into place, so a reader (or a concurrent
    exporter) sees a complete file or none."""
    folder = cache_folder(Path(cache_dir), fingerprint)
    wanted = folder / (INT8_FILE if int8 else FP32_FILE)
    if wanted.is_file():
        return wanted
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ExportError(f"not a local model folder: {model_dir}")
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".export-"))
    try:
        info = read_info(folder) | {"fingerprint": fingerprint, "export_version": EXPORT_VERSION, "opset": OPSET}
        fp32 = folder / FP32_FILE
        if not fp32.is_file():
            log.info("exporting %s to ONNX (once) in %s", model_dir.name, folder)
            export_fp32(model_dir, staging / FP32_FILE, max_length)
            os.replace(staging / FP32_FILE, fp32)
        if int8:
            info["int8_cosine_to_fp32"] = round(quantize_int8(fp32, staging / INT8_FILE, model_dir, max_length), 4)
            os.replace(staging / INT8_FILE, folder / INT8_FILE)
        (staging / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
        os.replace(staging / INFO_FILE, folder / INFO_FILE)
    except ExportError:
        raise
    except Exception as err:  # torch missing, a transformers change, an exporter failure: one error type
        raise ExportError(f"ONNX export failed: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return wanted
