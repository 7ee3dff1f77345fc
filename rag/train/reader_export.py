"""The trained reader as ONNX: torch.onnx export checked against torch, then int8 dynamic quantisation."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np

from rag.index.onnx_export import quantize_per_channel

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("start_logits", "end_logits")
OPSET = 17
MAX_EXPORT_ERROR = 1e-3  # logits of the graph vs torch, fp32
CHECK_PAIRS = (
    ("Why did China ban Japanese seafood?", "Beijing banned all Japanese seafood after Japan released treated water."),
    ("Who?", "Hi"),
)


def check_inputs(tokenizer_file: Path) -> dict[str, np.ndarray]:
    from rag.answer.reader import ReaderTokenizer

    tokenizer = ReaderTokenizer(tokenizer_file)
    windows = [w for q, p in CHECK_PAIRS for w in tokenizer.windows(q, [p])]
    return tokenizer.batch(windows)


def run_graph(path: Path, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return tuple(session.run(list(OUTPUT_NAMES), inputs))


def export_reader(state_file: Path, model_dir: str, target: Path, tokenizer_file: Path) -> None:
    """The fine-tuned weights as one fp32 ONNX graph with dynamic batch and sequence axes."""
    import torch

    from rag.train.reader_train import reader_module

    module = reader_module(model_dir)
    module.load_state_dict(torch.load(state_file, map_location="cpu"))
    module.eval()
    inputs = check_inputs(tokenizer_file)
    args = tuple(torch.from_numpy(inputs[name]) for name in INPUT_NAMES)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, *OUTPUT_NAMES)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(target), input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )
        expected = [t.numpy() for t in module(*args)]
    got = run_graph(target, inputs)
    mask = inputs["attention_mask"].astype(bool)
    error = max(float(np.max(np.abs(e[mask] - g[mask]))) for e, g in zip(expected, got))
    if error > MAX_EXPORT_ERROR:
        raise RuntimeError(f"exported reader disagrees with torch (max logit error {error:.2g})")


def quantize_reader(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation, weights per output channel, as for the sentence encoder."""
    quantize_per_channel(source, target)


def copy_tokenizer(model_dir: str, folder: Path) -> Path:
    target = folder / "tokenizer.json"
    shutil.copyfile(Path(model_dir) / "tokenizer.json", target)
    return target
