"""Command line: `python -m rag index | search | ask | add | remove | articles | eval | bench` (heavy imports inside)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from rag.payload import answer_to_dict, hit_to_dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def format_answer(answer) -> str:
    lines = [answer.text, ""]
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            where = f"paragraph {c.paragraph}" + (f", page {c.page}" if c.page else "")
            lines.append(f"  [{c.number}] {c.title}, {where} ({c.url})")
            lines.append(f"      \u201c{c.quote}\u201d")
    elif answer.passages:
        lines.append("Related reading:")
        for h in answer.passages:
            lines.append(f"  - {h.title}, paragraph {h.paragraph} ({h.url})")
    lines.append(f"confidence: {answer.confidence:.2f}")
    return "\n".join(lines)


def make_assistant(args, scorer=None, reader=None):
    from rag.assistant import Assistant

    return Assistant(
        seeds_dir=args.seeds, index_dir=args.index, model=args.model, uploads_dir=args.uploads, scorer=scorer,
        reader=reader
    )


def command_index(args) -> int:
    # settings that later loads must agree with travel as the variables the library reads
    if args.sentence_vectors:
        os.environ["RAG_SENTENCE_VECTORS"] = args.sentence_vectors
    if args.dense_index:
        os.environ["RAG_DENSE_INDEX"] = args.dense_index
    from rag.index.ray_build import ray_address as resolve_ray_address  # imports no ray itself

    ray_address = resolve_ray_address(args.ray)
    assistant = make_assistant(args)
    started = time.perf_counter()
    index = assistant.rebuild(progress=not args.quiet, ray_address=ray_address)
    m = index.manifest
    print(
        f"indexed {m['articles']} articles, {m['passages']} passages, {m['sentences']} sentences "
        f"in {time.perf_counter() - started:.1f} s -> {assistant.store.folder}"
        + (f" (on Ray: {ray_address})" if ray_address else "")
    )
    return 0


def command_search(args) -> int:
    hits = make_assistant(args).search(args.question, top_k=args.top_k, mode=args.mode)
    if args.json:
        print(json.dumps([hit_to_dict(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        for hit in hits:
            print(f"{hit.rank}. [{hit.score:.3f}] {hit.title} \u00b6{hit.paragraph} ({hit.url})")
            print(f"   {hit.text}\n")
        if not hits:
            print("no passages found")
    return 0


def command_ask(args) -> int:
    answer = make_assistant(args, reader=reader_of(args.reader)).ask(args.question, history=args.history, top_k=args.top_k)
    print(json.dumps(answer_to_dict(answer), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
    return 0


def command_add(args) -> int:
    """Add each file; one that cannot be used is reported and the others are still added (exit 2 if any failed)."""
    from rag.errors import UploadError

    assistant = make_assistant(args)
    failed = 0
    for name in args.files:
        try:
            added = assistant.add_upload(read_file(name), name)
        except (UploadError, OSError) as err:
            print(f"error: {name}: {describe_error(err)}", file=sys.stderr)
            failed += 1
            continue
        article = added.article
        state = "added" if added.created else "already there"
        print(f"{state}: {article.doc_id}  {article.title} ({len(article.paragraphs)} paragraphs)")
    return 2 if failed else 0


def read_file(name: str) -> bytes:
    from pathlib import Path

    from rag.errors import FileTooLarge
    from rag.ingest.readers import MAX_FILE_BYTES

    path = Path(name)
    if path.is_dir():
        raise IsADirectoryError(f"{name} is a folder, not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileTooLarge(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB, the most accepted.")
    return path.read_bytes()


def describe_error(err: Exception) -> str:
    if isinstance(err, OSError) and not isinstance(err, IsADirectoryError):
        return err.strerror or str(err)
    return str(err)


def command_remove(args) -> int:
    make_assistant(args).remove(args.doc_id)
    print(f"removed: {args.doc_id}")
    return 0


def command_articles(args) -> int:
    articles = make_assistant(args).articles.values()
    if args.json:
        fields = ("doc_id", "title", "authors", "date", "origin", "source_name")
        rows = [{f: getattr(a, f) for f in fields} | {"paragraphs": len(a.paragraphs)} for a in articles]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for a in articles:
            print(f"{a.origin:6}  {a.doc_id}  {a.title} ({len(a.paragraphs)} paragraphs{', ' + a.date if a.date else ''})")
    return 0


def command_eval(args) -> int:
    from rag.answer.scoring import load_scorer
    from rag.evaluate.evaluation import DEFAULT_QUESTIONS, format_report
    from rag.evaluate.held_out import evaluate_dev_set

    scorer = load_scorer(args.scorer) if args.scorer else None
    reader = reader_of(args.reader)
    if args.squad:
        from rag.assistant import Assistant
        from rag.evaluate.held_out import evaluate_squad_file
        from rag.index.embedder import Embedder

        def open_assistant(corpus: Path, index: Path) -> Assistant:
            return Assistant(seeds_dir=corpus, index_dir=index, embedder=Embedder(args.model), reader=reader)

        plot = Path(args.calibration) if args.calibration else None
        print(evaluate_squad_file(Path(args.squad), open_assistant, calibration_plot=plot, scorer=scorer))
        return 0
    result, note = evaluate_dev_set(make_assistant(args, scorer, reader), args.file or DEFAULT_QUESTIONS)
    print(note + "\n\n" + format_report(result))
    return 0


def reader_of(option: str | None):
    """`--reader shipped` (rag/models/reader/) or a reader folder; None without the option."""
    if not option:
        return None
    from rag.answer.reader import Reader

    return Reader(None if option == "shipped" else option)


def command_train_reader(args) -> int:
    from rag.answer.reader import MODEL_DIR
    from rag.train.reader_fit import DATA, train_reader

    output = Path(args.output) if args.output else MODEL_DIR
    manifest = train_reader(output, Path(args.data) if args.data else DATA, epochs=args.epochs,
                            state=Path(args.weights) if args.weights else None,
                            answerability_stage=args.answerability_stage)
    print(f"wrote {output}: passages read {manifest['decoding']['passages']}, rank penalty "
          f"{manifest['decoding']['rank_penalty']}, operating point {manifest['min_confidence']:.2f}")
    return 0


def command_fit(args) -> int:
    from rag.answer.scoring import PARAMETERS_FILE
    from rag.assistant import resolve_dir
    from rag.evaluate.evaluation import DEFAULT_QUESTIONS
    from rag.evaluate.squad import DEFAULT_SQUAD
    from rag.index.embedder import Embedder
    from rag.train.fitting import fit_from_files, write_scorer

    questions = Path(args.questions or DEFAULT_QUESTIONS)
    squad = [Path(p) for p in (args.squad or [DEFAULT_SQUAD])]
    for path in [questions, *squad]:
        if not path.is_file():
            raise ValueError(f"labelled questions not found: {path}")
    scorer = fit_from_files(questions, resolve_dir(args.seeds, "seeds"), squad, Embedder(args.model))
    output = Path(args.output) if args.output else PARAMETERS_FILE
    write_scorer(scorer, output)
    print(f"fitted on {', '.join(scorer.fitted_on)}; operating point: confidence >= {scorer.min_confidence:.3f}")
    print(f"wrote {output}")
    return 0


def command_bench(args) -> int:
    from pathlib import Path

    import rag.bench as bench
    from rag.assistant import resolve_dir
    from rag.evaluate.evaluation import DEFAULT_QUESTIONS

    skip = frozenset(s.strip() for s in (args.skip or "").split(",") if s.strip())
    if skip - set(bench.SECTIONS):
        raise ValueError(f"--skip takes a comma-separated list of {', '.join(bench.SECTIONS)}")
    quick = args.quick  # a smoke run: small corpora, few repeats, same report shape
    output = Path(args.output).resolve() if args.output else bench.DEFAULT_REPORT
    options = bench.Options(
        seeds=resolve_dir(args.seeds, "seeds"),
        questions=Path(args.questions or DEFAULT_QUESTIONS).resolve(),
        output=output,
        scaling=output.parent / "SCALING.md" if args.output else bench.DEFAULT_SCALING,
        repeats=args.repeats or (2 if quick else 5),
        passages=args.passages or (1_000 if quick else 100_000),
        vectors=args.scale or (20_000 if quick else 2_000_000),
        serving_sizes=tuple(args.serving_sizes or ((20_000,) if quick else (100_000, 1_000_000))),
        quick=quick,
        skip=skip,
    )
    return bench.main(options)


MAX_TOP_K = 100  # passages a search or an answer may draw on
MIN_SCALE = 1_000  # enough vectors to train IVF-PQ (its sub-quantizers have 256 centroids); the tests run 3,000


def integer_in(low: int, high: int | None = None):
    """An argparse `type`: an integer from `low` to `high` (no upper bound when None), else a one-line error."""
    bounds = f"from {low:,} to {high:,}" if high is not None else f"of at least {low:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, not {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, not {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def sizes_list(text: str) -> tuple[int, ...]:
    """An argparse `type`: comma-separated integers of at least MIN_SCALE ("100000,1000000")."""
    one = integer_in(MIN_SCALE)
    return tuple(one(part.strip()) for part in text.split(",") if part.strip())


MAX_EPOCHS = 10.0  # passes over the training questions; each costs about 90 minutes on 2 cores


def epochs_in(text: str) -> float:
    """An argparse `type`: passes over the training data, more than 0 and at most MAX_EPOCHS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most {MAX_EPOCHS:g}, not {text!r}") from None
    if not 0 < value <= MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most {MAX_EPOCHS:g}, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description=__doc__)
    parser.add_argument("--seeds", default=None, help="folder of .txt/.md articles (default: the repo's seeds/)")
    parser.add_argument("--index", default=None, help="index folder (default: the repo's index/)")
    parser.add_argument("--uploads", default=None, help="folder of uploaded originals (default: the repo's uploads/)")
    parser.add_argument("--model", default=None, help="embedding model path or name (default: bundled MiniLM)")
    parser.add_argument("--store", choices=("faiss", "milvus"), help="where passage vectors are searched: FAISS files "
                        "in the index folder (default), or Milvus at $RAG_MILVUS_URI (default: milvus-lite in "
                        "INDEX/milvus.db; http://host:19530 for a server); needs the [scale] extra ($RAG_STORE)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="(re)build the index")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray", metavar="ADDRESS", help="build as a Ray Data pipeline on this cluster ('local': a local "
                   "Ray; default $RAY_ADDRESS); needs the [scale] extra")
    p.add_argument("--sentence-vectors", choices=("late", "separate"), help="late: pooled from the passage's forward "
                   "pass, about twice as fast; separate: every sentence embedded again (default) ($RAG_SENTENCE_VECTORS)")
    p.add_argument("--dense-index", choices=("auto", "flat", "ivf", "ivfpq"), help="FAISS index kind (default auto: "
                   "by size; ivfpq is served from disk) ($RAG_DENSE_INDEX)")
    p.set_defaults(run=command_index)

    p = sub.add_parser("search", help="the passages that best match a question")
    p.add_argument("question")
    p.add_argument("--top-k", type=integer_in(1, MAX_TOP_K), default=5, help=f"passages (1-{MAX_TOP_K}; default 5)")
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=command_search)

    p = sub.add_parser("ask", help="a cited, extractive answer")
    p.add_argument("question")
    p.add_argument("--reader", help="answer with the trained reader: 'shipped' (rag/models/reader/) or a folder")
    p.add_argument("--history", action="append", default=[], help="an earlier question (repeat, oldest first)")
    p.add_argument("--top-k", type=integer_in(1, MAX_TOP_K), default=5, help=f"passages (1-{MAX_TOP_K}; default 5)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=command_ask)

    p = sub.add_parser("add", help="add article files (HTML, PDF, Markdown, text) as uploads and index them")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=command_add)

    p = sub.add_parser("remove", help="remove an uploaded article (its file and its passages)")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.set_defaults(run=command_remove)

    p = sub.add_parser("articles", help="list the indexed articles (seed or upload)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=command_articles)

    p = sub.add_parser("eval", help="retrieval and answer figures on a question set")
    p.add_argument("file", nargs="?", help="questions .jsonl (default: data/eval/questions.jsonl)")
    p.add_argument("--squad", help="a SQuAD-format file: its articles become a temporary corpus, its questions are asked")
    p.add_argument("--calibration", help="with --squad: draw the reliability diagram into this PNG")
    p.add_argument("--scorer", help="answer scorer parameters (default: the shipped rag/models/answer_scorer.json)")
    p.add_argument("--reader", help="answer with the trained reader instead: 'shipped' (rag/models/reader/) or a folder")
    p.set_defaults(run=command_eval)

    p = sub.add_parser("train-reader", help="fine-tune the reader on data/squad2, export it as ONNX, fit its "
                       "confidence (about 1.5 hours on 2 cores; writes rag/models/reader/)")
    p.add_argument("--data", help="folder of the SQuAD training and validation files (default: data/squad2)")
    p.add_argument("--epochs", type=epochs_in, default=1.0, help=f"passes over the training questions (above 0, at "
                   f"most {MAX_EPOCHS:g}; default 1)")
    p.add_argument("--weights", help="trained weights (reader.pt beside its training.json) to export and fit")
    p.add_argument("--answerability-stage", action="store_true",
                   help="a second pass on a balanced draw of answerable and unanswerable questions (+30 min; measured "
                   "in the README, not shipped)")
    p.add_argument("--output", help="reader folder (default: rag/models/reader/)")
    p.set_defaults(run=command_train_reader)

    p = sub.add_parser("fit", help="refit the answer scorer on labelled questions (writes rag/models/)")
    p.add_argument("--questions", help="news-format questions .jsonl (default: data/eval/questions.jsonl)")
    p.add_argument("--squad", action="append",
                   help="SQuAD-format file (repeatable; default: data/squad2/dev-two-articles.json)")
    p.add_argument("--output", help="parameter file (default: rag/models/answer_scorer.json)")
    p.set_defaults(run=command_fit)

    p = sub.add_parser("bench", help="measure latency, cold start, builds, Ray, scale, eval; write docs/BENCHMARKS.md "
                       "and docs/SCALING.md's figures")
    p.add_argument("--quick", action="store_true", help="small corpora and few repeats (a smoke run)")
    p.add_argument("--scale", type=integer_in(MIN_SCALE), help="vectors for the served-from-disk part (at least "
                   f"{MIN_SCALE:,}; default 2,000,000; quick 20,000)")
    p.add_argument("--serving-sizes", type=sizes_list, help="comma-separated vector counts at which milvus-lite, "
                   "FAISS IVF and BM25 are measured side by side (default 100000,1000000; quick 20000; at most --scale)")
    p.add_argument("--passages", type=integer_in(1), help="recombined passages to index, plain and on Ray "
                   "(default 100,000; quick 1,000)")
    p.add_argument("--repeats", type=integer_in(1), help="rounds of the warm latency runs (default 5; quick 2)")
    p.add_argument("--skip", help="comma-separated sections to leave out: latency,cold,build,ray,scale,eval,add")
    p.add_argument("--questions", help="questions .jsonl (default: data/eval/questions.jsonl)")
    p.add_argument("--output", help="report file (default: docs/BENCHMARKS.md; SCALING.md is written beside it)")
    p.set_defaults(run=command_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.store:  # an environment variable, so every assistant of the command (eval --squad's too) uses it
        os.environ["RAG_STORE"] = args.store
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.run(args)
    except Exception as err:  # a clear message, not a traceback, for anything a user can cause
        from rag.ingest.articles import CorpusError

        if isinstance(err, (CorpusError, ValueError, OSError)):
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise
