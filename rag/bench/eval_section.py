"""Eval quality per embedding backend and per way of making sentence vectors (`python -m rag eval` figures)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from rag.bench.common import Options, Table, Target, log
from rag.index.build_vectors import DEFAULT_SENTENCE_VECTORS

METRICS = (
    ("retrieval recall@5 (hybrid)", lambda r: r["retrieval"]["hybrid"]["recall@5"]),
    ("retrieval MRR@10 (hybrid)", lambda r: r["retrieval"]["hybrid"]["mrr@10"]),
    ("retrieval MRR@10 (dense)", lambda r: r["retrieval"]["dense"]["mrr@10"]),
    ("facts", lambda r: r["facts"]),
    ("grounded", lambda r: r["grounded"]),
    ("abstain", lambda r: r["abstain"]),
    ("false abstain", lambda r: r["false_abstain"]),
)
# (column, backend, sentence vectors, index folder name or None for the shared seed index built by default)
VARIANTS = (
    ("torch (reference)", "torch", DEFAULT_SENTENCE_VECTORS, None),
    ("onnx (default)", "onnx", DEFAULT_SENTENCE_VECTORS, None),
    ("onnx, sentences embedded alone", "onnx", "separate", "eval-separate"),
    ("onnx, sentences late-chunked", "onnx", "late", "eval-late"),
    ("onnx-int8", "onnx-int8", DEFAULT_SENTENCE_VECTORS, "eval-int8"),
)


@contextmanager
def sentence_vectors(mode: str):
    """$RAG_SENTENCE_VECTORS for the duration: the index fingerprint and the build both read it."""
    before = os.environ.get("RAG_SENTENCE_VECTORS")
    os.environ["RAG_SENTENCE_VECTORS"] = mode
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RAG_SENTENCE_VECTORS", None)
        else:
            os.environ["RAG_SENTENCE_VECTORS"] = before


def eval_section(opts: Options, workdir: Path, index_dir: Path) -> tuple[list[Target], list[Table]]:
    from rag.assistant import Assistant
    from rag.evaluate.evaluation import evaluate, load_questions
    from rag.index.embedder import Embedder

    questions = load_questions(opts.questions)
    results = {}
    for column, backend, mode, folder in VARIANTS:
        log(f"eval: {column}")
        with sentence_vectors(mode):
            assistant = Assistant(seeds_dir=opts.seeds, index_dir=workdir / folder if folder else index_dir, embedder=Embedder(backend=backend))
            results[column] = evaluate(assistant, questions)
    rows = tuple((name, *(f"{get(r):.3f}" for r in results.values())) for name, get in METRICS)
    answerable = sum(q.answerable for q in questions)
    one_question = 1 / max(1, answerable)
    default, torch, before, late = (results[VARIANTS[i][0]] for i in (1, 0, 2, 3))
    backend_gap = max(abs(get(default) - get(torch)) for _, get in METRICS)
    worst_fall = max(fall(name, get(before), get(late)) for name, get in METRICS)
    table = Table(
        "Eval quality per embedding backend and sentence vectors (`python -m rag eval`)",
        ("figure", *results),
        rows,
        (
            f"{len(questions)} questions ({opts.questions.name}), {answerable} answerable: one question is "
            f"{one_question:.3f} of a per-question figure. The default makes sentence vectors "
            f"\"{DEFAULT_SENTENCE_VECTORS}\" (rag.index.build_vectors); \"embedded alone\" runs the model again on every "
            "sentence, \"late-chunked\" pools each from its passage's forward pass. Each variant off the default "
            "gets its own index.",
        ),
    )
    targets = [
        Target(
            "default backend's eval within 1 point of torch",
            f"onnx: largest difference {backend_gap * 100:.1f} points",
            "torch: " + ", ".join(f"{name} {get(torch):.3f}" for name, get in METRICS[:4]),
            "met" if backend_gap <= 0.01 + 1e-9 else f"missed by {(backend_gap - 0.01) * 100:.1f} points",
        ),
        Target(
            "late chunking: no eval figure falls by more than one question's worth",
            f"largest fall {worst_fall:.3f}",
            "sentences embedded alone: " + ", ".join(f"{name} {get(before):.3f}" for name, get in METRICS[:4]),
            "met" if worst_fall <= one_question + 1e-9 else f"missed by {worst_fall - one_question:.3f}",
        ),
    ]
    return targets, [table]


def fall(name: str, before: float, after: float) -> float:
    """How much worse `after` is (false abstentions are better lower)."""
    return after - before if name == "false abstain" else before - after
