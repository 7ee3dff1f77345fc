"""Mutation kill rate of the core stages with mutmut, on every mutant or on a seeded uniform sample per stage.

    python scripts/mutation_report.py                      # 70 mutants per stage, seed 13 (`make mutation`)
    python scripts/mutation_report.py --sample 0           # every mutant (hours on one core)
    python scripts/mutation_report.py --stages answer --sample 20
    python scripts/mutation_report.py --report-only        # the table from the last run's results

The stages are those of issue 13; "ingest" is rag/ingest/articles.py with its cleaning rules (cleaning.py, furniture.py).
mutmut (config in pyproject.toml) runs, for each mutant, the fast tests that call the mutated function. The
sample is drawn with `random.Random(seed)` from the sorted mutant names mutmut generates for the stage, so the
same source and seed give the same sample. A mutant with no covering test counts as survived. The interval is
Wilson's 95% score interval for the kill rate of the stage's whole population of mutants.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

STAGES = {
    "answer": ("rag/answer/compose.py",),
    "retrieval": ("rag/answer/retrieval.py",),
    "indexer": ("rag/index/build.py",),
    "ingest": ("rag/ingest/articles.py", "rag/ingest/cleaning.py", "rag/ingest/furniture.py"),
}
KILLED = {1, 3, 36, 24, -24, 152, 255}  # failed tests, pytest internal error, timeouts (mutmut's exit codes)
TIMEOUTS = {36, 24, -24, 152, 255}  # listed apart: on a busy machine a slow test can time out, not only a loop
NO_TESTS = {5, 33}  # no fast test calls the mutated function: counted as not killed
NOT_RUN = {None, 2, 34}  # not checked, interrupted, skipped
REPO = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"


def generate_mutants() -> None:
    """What `mutmut run` does before running anything: copy the sources into mutants/ and mutate them."""
    from mutmut.__main__ import (
        copy_also_copy_files,
        copy_src_dir,
        create_mutants,
        setup_source_paths,
        store_lines_covered_by_tests,
    )

    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    store_lines_covered_by_tests()
    create_mutants(1)


def exit_codes(path: str) -> dict[str, int | None]:
    meta = Path("mutants") / f"{path}.meta"
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def stage_mutants(stage: str) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for path in STAGES[stage]:
        codes.update(exit_codes(path))
    return codes


def draw(names: list[str], size: int, seed: int) -> list[str]:
    names = sorted(names)
    return names if size <= 0 or size >= len(names) else sorted(random.Random(seed).sample(names, size))


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def report(samples: dict[str, list[str]], out) -> None:
    print("| stage | mutants | sampled | killed | survived | no tests | kill rate | 95% interval |", file=out)
    print("|---|---|---|---|---|---|---|---|", file=out)
    survivors = {}
    for stage, sample in samples.items():
        codes = stage_mutants(stage)
        ran = [m for m in sample if codes.get(m) not in NOT_RUN]
        killed = [m for m in ran if codes[m] in KILLED]
        untested = [m for m in ran if codes[m] in NO_TESTS]
        survivors[stage] = sorted(set(ran) - set(killed) - set(untested))
        low, high = wilson(len(killed), len(ran))
        rate = len(killed) / len(ran) if ran else 0.0
        sampled = "all" if len(sample) == len(codes) else str(len(ran))
        print(f"| {stage} | {len(codes)} | {sampled} | {len(killed)} | {len(survivors[stage])} | {len(untested)} | "
              f"{rate:.1%} | {low:.0%}–{high:.0%} |", file=out)
    for stage, names in survivors.items():
        if names:
            print(f"\nsurvived in {stage} ({len(names)}): " + ", ".join(names), file=out)
    for stage, sample in samples.items():
        codes = stage_mutants(stage)
        names = [m for m in sample if codes.get(m) in NO_TESTS]
        if names:
            print(f"\nno tests in {stage} ({len(names)}): " + ", ".join(names), file=out)
        names = [m for m in sample if codes.get(m) in TIMEOUTS]
        if names:
            print(f"\ntimed out (counted as killed) in {stage} ({len(names)}): " + ", ".join(names), file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", choices=sorted(STAGES), default=list(STAGES))
    parser.add_argument("--sample", type=int, default=70, help="mutants per stage (0: all of them)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--report-only", action="store_true", help="no run: the table of the last results")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    if not args.report_only or not all(stage_mutants(s) for s in args.stages):
        generate_mutants()
    samples = {stage: draw(list(stage_mutants(stage)), args.sample, args.seed) for stage in args.stages}
    if not args.report_only:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        env.setdefault("RAG_MODEL_CACHE", str(REPO / "index" / "models"))  # the ONNX graph, exported once
        env.setdefault("RAG_HYPOTHESIS_EXAMPLES", "25")  # properties run per mutant: fewer examples
        names = [name for sample in samples.values() for name in sample]
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.max_children), *names], env=env, check=False)
    report(samples, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
