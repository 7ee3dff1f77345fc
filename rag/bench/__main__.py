"""`python -m rag.bench WORKER ...`: the child processes the benchmark measures (internal)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def worker_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench")
    sub = parser.add_subparsers(dest="worker", required=True)
    p = sub.add_parser("build-worker")
    p.add_argument("seeds")
    p.add_argument("index")
    p.add_argument("--ray")
    p = sub.add_parser("scale-worker")
    for name in ("vectors", "queries", "truth", "kind", "index", "step"):
        p.add_argument(name)
    p.add_argument("--rows", type=int, default=0)
    p = sub.add_parser("milvus-worker")
    for name in ("vectors", "queries", "truth", "uri"):
        p.add_argument(name)
    p.add_argument("rows", type=int)
    p = sub.add_parser("lexical-worker")
    for name in ("index", "questions"):
        p.add_argument(name)
    p = sub.add_parser("compare-worker")
    for name in ("plain", "ray", "questions"):
        p.add_argument(name)
    p = sub.add_parser("load-worker")
    p.add_argument("index")
    p.add_argument("questions")
    p = sub.add_parser("add-base-worker")
    for name in ("corpus", "index", "uploads"):
        p.add_argument(name)
    p = sub.add_parser("add-worker")
    for name in ("corpus", "index", "uploads", "articles"):
        p.add_argument(name)
    args = parser.parse_args(argv)
    if args.worker == "build-worker":
        from rag.bench.build import build_worker

        build_worker(args.seeds, args.index, args.ray)
    elif args.worker == "scale-worker":
        from rag.bench.scale import scale_worker

        scale_worker(args.vectors, args.queries, args.truth, args.kind, args.index, args.step, args.rows)
    elif args.worker == "milvus-worker":
        from rag.bench.serving import milvus_worker

        milvus_worker(args.vectors, args.queries, args.truth, args.uri, args.rows)
    elif args.worker == "lexical-worker":
        from rag.bench.serving import lexical_worker

        lexical_worker(args.index, args.questions)
    elif args.worker == "compare-worker":
        from rag.bench.ray_section import compare_worker

        compare_worker(args.plain, args.ray, args.questions)
    elif args.worker == "load-worker":
        from rag.bench.scaling import load_worker

        load_worker(args.index, args.questions)
    elif args.worker == "add-base-worker":
        from rag.bench.add import base_worker

        base_worker(args.corpus, args.index, args.uploads)
    else:
        from rag.bench.add import add_worker

        add_worker(args.corpus, args.index, args.uploads, args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
