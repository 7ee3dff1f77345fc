"""Benchmarks: `python -m rag bench` times this machine and writes docs/BENCHMARKS.md (each figure beside a
baseline measured in the same run) and the measured part of docs/SCALING.md. One module per concern."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from rag.bench.add import REPORT_END as ADD_END
from rag.bench.add import REPORT_START as ADD_START
from rag.bench.add import add_section, render_add
from rag.bench.build import build_section, write_recombined_corpus
from rag.bench.cold import cold_section
from rag.bench.common import (
    DEFAULT_REPORT,
    DEFAULT_SCALING,
    SECTIONS,
    BenchError,
    BenchRun,
    Options,
    Report,
    Table,
    Target,
    log,
    machine_facts,
)
from rag.bench.eval_section import eval_section
from rag.bench.latency import latency_section
from rag.bench.ray_section import ray_section
from rag.bench.report import NOTES, REPORT_END, REPORT_START, render, write_report
from rag.bench.scale import scale_section
from rag.bench.scaling import SCALING_END, SCALING_START, scaling_section
from rag.bench.search import exact_top, recall_at_k, synthetic_vectors
from rag.bench.serving import SERVING_END, SERVING_START, serving_plan

__all__ = [
    "ADD_END", "ADD_START", "DEFAULT_REPORT", "DEFAULT_SCALING", "REPORT_END", "REPORT_START", "SECTIONS", "BenchError",
    "BenchRun", "Options", "exact_top", "main", "recall_at_k", "run", "synthetic_vectors", "write_recombined_corpus",
    "write_report",
]


def run(opts: Options) -> BenchRun:
    """Every section not skipped, in an order that reuses work: the seed index, the large builds (old, late,
    on Ray), then vectors made from the large build's, then adding articles to a copy of that build."""
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    index_dir = workdir / "index"
    targets: list[Target] = []
    tables: list[Table] = []
    reuse: dict = {}
    scaling = added = serving = None
    uploads = os.environ.get("RAG_UPLOADS")
    os.environ["RAG_UPLOADS"] = str(workdir / "no-uploads")  # this checkout's uploads stay out of every corpus
    try:
        prepare_index(opts, index_dir)
        if "latency" not in opts.skip:
            collect(targets, tables, latency_section(opts, index_dir))
        if "cold" not in opts.skip:
            collect(targets, tables, cold_section(opts, index_dir))
        if "build" not in opts.skip:
            reuse |= collect(targets, tables, build_section(opts, workdir, index_dir))
        if "ray" not in opts.skip:
            reuse |= collect(targets, tables, ray_section(opts, workdir, index_dir, reuse))
        if "scale" not in opts.skip:
            reuse |= collect(targets, tables, scale_section(opts, workdir, reuse.get("late_build"), index_dir))
        if "eval" not in opts.skip:
            collect(targets, tables, eval_section(opts, workdir, index_dir))
        if "add" not in opts.skip:
            add_targets, add_tables = add_section(opts, workdir, index_dir, reuse)
            added = Report(machine_facts(), tuple(add_targets), tuple(add_tables))
        scaling = scaling_section(opts, reuse)
        if "serving" in reuse:
            runs = reuse["serving"]
            serving = serving_plan((reuse.get("scale") or {}).get("served from disk"), runs["milvus"], runs["lexical"])
    finally:
        if uploads is None:
            os.environ.pop("RAG_UPLOADS", None)
        else:
            os.environ["RAG_UPLOADS"] = uploads
        shutil.rmtree(workdir, ignore_errors=True)
    return BenchRun(Report(machine_facts(), tuple(targets), tuple(tables), NOTES), scaling, added, serving)


def collect(targets: list, tables: list, section: tuple) -> dict:
    targets += section[0]
    tables += section[1]
    return section[2] if len(section) > 2 else {}


def prepare_index(opts: Options, index_dir: Path) -> None:
    """The seed index every section shares, built by the default backend (exporting the graph if needed)."""
    from rag.assistant import Assistant

    log(f"building the seed index in {index_dir}")
    Assistant(seeds_dir=opts.seeds, index_dir=index_dir).warm_up()


def main(opts: Options) -> int:
    started = time.perf_counter()
    result = run(opts)
    main_sections = [s for s in SECTIONS if s != "add"]
    skipped = [s for s in main_sections if s in opts.skip]
    written = []
    if len(skipped) < len(main_sections):  # a run of the add section alone leaves the main block as it is
        section = render(result.report, opts, skipped)
        write_report(opts.output, section)
        print(section)
        written.append(str(opts.output))
    if result.added is not None:
        block = render_add(result.added, opts)
        write_report(opts.output, block, ADD_START, ADD_END)
        print(block)
        written.append(f"{opts.output} (add)")
    if result.scaling:
        write_report(opts.scaling, result.scaling, SCALING_START, SCALING_END)
        print(result.scaling)
        written.append(str(opts.scaling))
    if result.serving:
        write_report(opts.scaling, result.serving, SERVING_START, SERVING_END)
        print(result.serving)
        written.append(f"{opts.scaling} (serving)")
    log(f"wrote {', '.join(written) or 'nothing'} in {time.perf_counter() - started:.0f} s")
    return 0
