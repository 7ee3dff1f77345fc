"""The Ray Data build (`--ray local`) beside the plain build of the same corpus: time, and whether they agree."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.bench.build import build_row, measure_build, seed_sentences, write_recombined_corpus
from rag.bench.common import Options, Table, Target, log, worker_json


@dataclass(frozen=True)
class Agreement:
    """How a Ray build compares with the plain build of the same corpus."""

    same_passages: bool
    max_vector_difference: float
    questions: int
    same_top_10: int

    @property
    def equal(self) -> bool:
        return self.same_passages and self.max_vector_difference <= 1e-5 and self.same_top_10 == self.questions


def compare_worker(plain_dir: str, ray_dir: str, questions_path: str) -> None:
    """In a child process: load both builds; the same passages, vectors within 1e-5, the same top 10."""
    from rag.answer.question import parse_question
    from rag.answer.retrieval import Retriever
    from rag.evaluate.evaluation import load_questions
    from rag.index.builds import BuildStore
    from rag.index.corpus_index import load_index
    from rag.index.embedder import Embedder

    plain, ray = (load_index(BuildStore(d).current()) for d in (plain_dir, ray_dir))
    embedder = Embedder()

    def top_10(index, question):
        query = parse_question(question, (), index).query
        return [h.passage.passage_id for h in Retriever(index).search(query, embedder.encode([query])[0], top_k=10)]

    same_passages = plain.passages == ray.passages
    difference = 0.0
    if same_passages:
        difference = max(
            float(np.abs(plain.passage_vectors - ray.passage_vectors).max(initial=0.0)),
            float(np.abs(plain.sentence_vectors - ray.sentence_vectors).max(initial=0.0)),
        )
    questions = [q.question for q in load_questions(questions_path)]
    same = sum(top_10(plain, q) == top_10(ray, q) for q in questions)
    print(json.dumps({"same_passages": same_passages, "difference": difference, "questions": len(questions), "same": same}))


def compare(plain: Path, ray: Path, questions: Path) -> Agreement:
    cmd = [sys.executable, "-m", "rag.bench", "compare-worker", str(plain), str(ray), str(questions)]
    data = worker_json(cmd, 3600)
    return Agreement(data["same_passages"], data["difference"], data["questions"], data["same"])


def ray_section(opts: Options, workdir: Path, index_dir: Path, reuse: dict) -> tuple[list[Target], list[Table], dict]:
    corpus, plain_dir, plain = reuse.get("corpus"), reuse.get("late_build"), reuse.get("late_run")
    if plain is None:  # the build section was skipped: a plain build of our own
        corpus = workdir / "recombined"
        write_recombined_corpus(seed_sentences(opts.seeds, index_dir), opts.passages, corpus)
        log(f"ray: plain build of {opts.passages:,} recombined passages")
        plain_dir = workdir / "b-big"
        plain = measure_build(corpus, plain_dir)
    log(f"ray: the same corpus on a local Ray ({opts.passages:,} passages)")
    on_ray = measure_build(corpus, workdir / "b-ray", ray="local")
    agreement = compare(plain_dir, workdir / "b-ray", opts.questions)
    table = Table(
        "Ray Data build (`python -m rag index --ray local`) beside the plain build",
        ("build", "passages", "wall time", "passages/s", "passages/s embedding only", "peak RSS"),
        (build_row("plain (one process, onnx on every core)", plain), build_row("Ray local (actor pool, one onnx thread each)", on_ray)),
        (
            "The same corpus, late chunking both. Ray: read and clean as Ray tasks; ids, duplicates and Punkt on the "
            "driver; chunking and embedding in actor pools (one per core); the driver writes the same files. "
            "Peak RSS is the driver's alone (the actors are other processes); wall time includes starting Ray.",
            f"Agreement: passages {'identical' if agreement.same_passages else 'DIFFER'}; largest vector difference "
            f"{agreement.max_vector_difference:.1e}; the same top 10 for {agreement.same_top_10} of "
            f"{agreement.questions} dev questions.",
        ),
    )
    target = Target(
        "`--ray local` build equals the plain build (passages, vectors within 1e-5, top 10 per dev question)",
        f"Ray: {on_ray.seconds:.0f} s, {on_ray.passages_per_s:.1f} passages/s; "
        f"{'equal' if agreement.equal else 'NOT equal'} (max difference {agreement.max_vector_difference:.1e})",
        f"plain: {plain.seconds:.0f} s, {plain.passages_per_s:.1f} passages/s",
        "met" if agreement.equal else "missed",
    )
    return [target], [table], {"ray_run": on_ray, "corpus": corpus, "late_build": plain_dir, "late_run": plain}
