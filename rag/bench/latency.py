"""Warm latency: ask() and its parts per question, beside sentence-transformers + flat FAISS in the same process."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rag.bench.common import Options, Table, Target, Timing, log, over_rounds, timed, verdict_at_most


def naive_search(model, flat, question: str) -> None:
    """The naive path: sentence-transformers (torch) encodes, a flat FAISS index searches."""
    vector = model.encode([question], normalize_embeddings=True, convert_to_numpy=True)
    flat.search(np.ascontiguousarray(vector, dtype=np.float32), 10)


def ask_round(assistant, questions: Sequence[str]) -> tuple[list[float], list[float], list[float]]:
    """ask() per question, with the query embedding timed inside it and retrieval timed beside it."""
    from rag.answer.question import parse_question
    from rag.answer.retrieval import Retriever

    embed_times: list[float] = []
    embedder = assistant.embedder
    encode = embedder.encode

    def timed_encode(texts, *args, **kwargs):  # a timing hook on this instance only: answer.py is untouched
        seconds, vectors = timed(lambda: encode(texts, *args, **kwargs))
        embed_times.append(seconds)
        return vectors

    embedder.encode = timed_encode  # ask() hands the composer embedder.encode, so the hook sees its encoding
    totals, embeds, retrievals = [], [], []
    try:
        for question in questions:
            embed_times.clear()
            seconds, _ = timed(assistant.ask, question)
            totals.append(seconds)
            embeds.append(sum(embed_times))
            index = assistant.index
            query = parse_question(question, (), index).query
            vector = encode([query])[0]
            retrieval, _ = timed(lambda: Retriever(index).search(query, vector, top_k=8))
            retrievals.append(retrieval)
    finally:
        del embedder.encode
    return totals, embeds, retrievals


def encode_round(embedder, questions: Sequence[str]) -> list[float]:
    return [timed(embedder.encode, [q])[0] for q in questions]


def latency_section(opts: Options, index_dir: Path) -> tuple[list[Target], list[Table]]:
    from sentence_transformers import SentenceTransformer

    from rag.assistant import Assistant
    from rag.evaluate.evaluation import load_questions
    from rag.index.embedder import Embedder
    from rag.index.vectors import import_faiss

    questions = [q.question for q in load_questions(opts.questions)]
    assistant = Assistant(seeds_dir=opts.seeds, index_dir=index_dir, embedder=Embedder())
    assistant.warm_up()
    backend = assistant.embedder.active_backend
    faiss = import_faiss()  # the serving thread setting (1), for the baseline's search too
    flat = faiss.IndexFlatIP(assistant.index.passage_vectors.shape[1])
    flat.add(np.ascontiguousarray(assistant.index.passage_vectors, dtype=np.float32))
    naive = SentenceTransformer(assistant.embedder.model, device="cpu")
    int8 = Embedder(backend="onnx-int8")
    int8.warm_up()
    flat_only = [assistant.embedder.encode([q])[0][None] for q in questions]
    rounds = max(2, opts.repeats)
    log(f"warm latency: {rounds} rounds of {len(questions)} questions ({backend} vs sentence-transformers + flat)")
    for question in questions[:5]:  # warm every path before timing
        naive_search(naive, flat, question)
        assistant.ask(question)
        int8.encode([question])
    base, base_encode, base_search, totals, embeds, retrievals, int8_times = ([] for _ in range(7))
    for _ in range(rounds):  # interleaved, so drift on a noisy machine hits both sides alike
        base.append([timed(naive_search, naive, flat, q)[0] for q in questions])
        base_encode.append([timed(naive.encode, [q])[0] for q in questions])
        base_search.append([timed(flat.search, v, 10)[0] for v in flat_only])
        total, embed, retrieval = ask_round(assistant, questions)
        totals.append(total)
        embeds.append(embed)
        retrievals.append(retrieval)
        int8_times.append(encode_round(int8, questions))
    compositions = [[t - e - r for t, e, r in zip(*parts)] for parts in zip(totals, embeds, retrievals)]
    ask, naive_t = over_rounds(totals), over_rounds(base)
    rows = [
        ("ask() total (hybrid retrieval + composition)", *fmt_timing(ask), "naive: encode + flat search", *fmt_timing(naive_t)),
        (f"query embedding ({backend})", *fmt_timing(over_rounds(embeds)), "sentence-transformers encode", *fmt_timing(over_rounds(base_encode))),
        ("query embedding (onnx-int8, opt-in)", *fmt_timing(over_rounds(int8_times)), "sentence-transformers encode", *fmt_timing(over_rounds(base_encode))),
        ("retrieval (FAISS + BM25 + fusion)", *fmt_timing(over_rounds(retrievals)), "flat FAISS search (k = 10)", *fmt_timing(over_rounds(base_search))),
        ("composition (ask - embedding - retrieval)", *fmt_timing(over_rounds(compositions)), "(none: the naive path has no answer)", "", ""),
    ]
    table = Table(
        "Warm latency per question (ms)",
        ("this code", "p50", "p95", "baseline, same process", "p50", "p95"),
        tuple(rows),
        (
            f"{len(questions)} eval questions x {rounds} rounds; p50/p95 per round, median over rounds; "
            "baseline and this code interleaved round by round.",
            "Retrieval is timed on its own right after each ask(); composition is the remainder of ask().",
            "FAISS runs 1 OpenMP thread for both sides (rag.index.vectors.SEARCH_THREADS).",
        ),
    )
    target = Target(
        "warm ask() p50 <= naive p50",
        f"{ask.p50:.2f} ms",
        f"{naive_t.p50:.2f} ms",
        verdict_at_most(ask.p50, naive_t.p50, "ms"),
    )
    return [target], [table]


def fmt_timing(timing: Timing) -> tuple[str, str]:
    return f"{timing.p50:.2f}", f"{timing.p95:.2f}"
