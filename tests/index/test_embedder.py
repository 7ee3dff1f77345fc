"""Embedding backends: the ONNX graph against sentence-transformers, the export cache, the backend setting,
and a query path that never imports torch, sentence-transformers or nltk."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag.index import encoder as embedding, onnx_export
from rag.index.embedder import BACKEND_ENV, Embedder, resolve_backend

from conftest import REPO

TEXTS = [
    "Why did China ban Japanese seafood?",
    "Hi",
    "Critics said the terminal would damage the wetlands south of the city, home to rare migrating birds.",
    # over the model's 256 word pieces: both paths must truncate it the same way
    "The harbour authority of Northport approved a new container terminal after a long debate. " * 25,
]


@pytest.fixture(scope="module")
def torch_embedder():
    embedder = Embedder(backend="torch")
    embedder.warm_up()
    return embedder


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_the_backend_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert resolve_backend(None) == "auto"
    monkeypatch.setenv(BACKEND_ENV, "Torch")
    assert Embedder().backend == "torch"
    assert Embedder(backend="onnx").backend == "onnx"
    with pytest.raises(ValueError):
        Embedder(backend="tensorflow")


def test_the_onnx_graph_gives_torch_vectors_batched_and_alone(torch_embedder, monkeypatch):
    monkeypatch.setattr(embedding, "TOKENIZE_CHUNK", 3)  # cross a tokenising chunk, as a big build does
    onnx = Embedder(backend="onnx", batch_size=2)
    reference = torch_embedder.encode(TEXTS)
    batched = onnx.encode(TEXTS)
    alone = np.vstack([onnx.encode([text]) for text in TEXTS])
    assert onnx.active_backend == "onnx" and batched.dtype == np.float32 and batched.shape == (4, 384)
    assert cosines(batched, reference).min() > 0.9999
    assert cosines(alone, reference).min() > 0.9999
    assert onnx.model_id == torch_embedder.model_id  # one index serves both


def test_int8_stays_close_and_keeps_its_own_index(torch_embedder):
    int8 = Embedder(backend="onnx-int8")
    assert cosines(int8.encode(TEXTS), torch_embedder.encode(TEXTS)).min() > 0.95
    assert int8.model_id == torch_embedder.model_id + "+int8"


def test_the_graph_is_exported_once_then_reused(tmp_path, torch_embedder):
    first = Embedder(backend="onnx", cache_dir=tmp_path)
    first.warm_up()
    [graph] = tmp_path.rglob("model.onnx")
    stamp = graph.stat().st_mtime_ns
    Embedder(backend="onnx", cache_dir=tmp_path).warm_up()
    assert graph.stat().st_mtime_ns == stamp
    assert not list(tmp_path.rglob(".export-*"))  # the staging folder is gone
    assert json.loads((graph.parent / "export.json").read_text())["fingerprint"] == first.model_id


def test_auto_falls_back_to_torch_when_the_export_fails(monkeypatch, tmp_path, torch_embedder):
    def fail(*args, **kwargs):
        raise onnx_export.ExportError("no exporter here")

    monkeypatch.setattr(onnx_export, "ensure_onnx", fail)
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    fallback = Embedder(cache_dir=tmp_path)
    fallback.warm_up()
    assert fallback.active_backend == "torch"
    with pytest.raises(onnx_export.ExportError):
        Embedder(backend="onnx", cache_dir=tmp_path).warm_up()


def test_pooling_is_read_from_the_model_folder(tmp_path):
    modules = [
        {"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    config = tmp_path / "1_Pooling" / "config.json"
    config.write_text(json.dumps({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}))
    assert onnx_export.pooling_mode(tmp_path) == "mean"
    config.write_text(json.dumps({"pooling_mode_max_tokens": True}))
    with pytest.raises(onnx_export.ExportError):
        onnx_export.pooling_mode(tmp_path)


def test_ask_imports_neither_torch_nor_sentence_transformers_nor_nltk_nor_sklearn_nor_ray_nor_milvus(seed_assistant):
    code = "import json, sys; from rag.cli import main; main(sys.argv[1:]); print(json.dumps(sorted(sys.modules)))"
    args = ["--index", str(seed_assistant.store.folder), "ask", "Why did China ban Japanese seafood?"]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop(BACKEND_ENV, None)
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Fukushima" in done.stdout
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & {"torch", "sentence_transformers", "nltk", "transformers", "sklearn", "matplotlib", "ray", "rag.index.ray_build",
                         "pymilvus", "milvus_lite", "grpc", "rag.index.milvus_store"}
    assert "onnxruntime" in loaded
