"""The shipped figures measured fairly: `rag eval` and `rag eval --squad`, each question scored by the fit
without its own article when the shipped fit used it (cross-validated by article)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from rag.answer.scoring import load_scorer
from rag.evaluate.evaluation import evaluate, load_questions, mrr_at, recall_at
from rag.evaluate.labelled import news_groups, squad_group
from rag.evaluate.squad import SquadSet, format_squad_report, gold_rank, load_squad, run_squad, write_corpus


def evaluate_dev_set(assistant, path: str | Path) -> tuple[dict, str]:
    """`evaluate` with each question's answer scored by the shipped fit without that question's article when
    the shipped fit used it (cross-validated by article), and a note saying which was the case."""
    if assistant.reader is not None:
        note = f"answers by the reader in {assistant.reader.folder} (never trained on these questions)"
        return evaluate(assistant, load_questions(path)), note
    scorer = assistant.scorer or load_scorer()
    groups = news_groups(Path(path), assistant.seeds_dir)
    held_out = {qid: scorer.without(group) for qid, group in groups.items()}
    fitted = sum(1 for group in groups.values() if group in scorer.fitted_on)
    result = evaluate(assistant, load_questions(path), scorer_for=lambda q: held_out.get(q.id, scorer))
    note = (
        f"cross-validated: {fitted} of {len(groups)} questions were fitted on; each is scored by the fit "
        "without its article"
        if fitted
        else "scored by the shipped fit (none of these questions was fitted on)"
    )
    return result, note


def retrieval_table(assistant, squad: SquadSet, modes: Sequence[str] = ("dense", "bm25", "hybrid")) -> str:
    """recall@5 and MRR@10 of each retrieval mode on the answerable questions, side by side."""
    contexts = {a.title: a.paragraphs for a in squad.articles}
    answerable = [q for q in squad.questions if q.answerable]
    lines = ["| retrieval | recall@5 | MRR@10 |", "|---|---|---|"]
    for mode in modes:
        ranks = [gold_rank(q, assistant.search(q.question, top_k=10, mode=mode), contexts[q.article]) for q in answerable]
        lines.append(f"| {mode} | {recall_at(ranks, 5):.3f} | {mrr_at(ranks, 10):.3f} |")
    return "\n".join(lines)


def evaluate_squad_file(
    path: Path, open_assistant: Callable[[Path, Path], Any], calibration_plot: Path | None = None, scorer=None
) -> str:
    """`python -m rag eval --squad PATH`: a temporary corpus and index from the file, every question asked of
    the assistant `open_assistant(corpus folder, index folder)` gives (the caller's: evaluation measures an
    assistant, it does not make one), each article scored by the fit without it when the shipped fit used it
    (cross-validated by article)."""
    import tempfile

    squad = load_squad(path)
    scorer = scorer or load_scorer()
    with tempfile.TemporaryDirectory(prefix="rag-squad-") as tmp:
        write_corpus(squad, Path(tmp) / "corpus")
        assistant = open_assistant(Path(tmp) / "corpus", Path(tmp) / "index")
        reader = assistant.reader
        scorers = {a.title: scorer.without(squad_group(a.title, a.paragraphs)) for a in squad.articles}
        held_out = [t for t, s in scorers.items() if s is not scorer]
        run = run_squad(assistant, squad, scorer_for=lambda q: scorers[q.article])
        retrieval = retrieval_table(assistant, squad)
    if calibration_plot is not None:
        from rag.evaluate.calibration import plot_reliability

        every = [(o.confidence, o.would_be_right) for o in run.outcomes]
        answerable = [(o.confidence, o.would_be_right) for o in run.outcomes if o.question.answerable]
        series = {f"{path.name}, every question": every, f"{path.name}, answerable questions": answerable}
        plot_reliability(series, calibration_plot, scorer.min_confidence)
    if reader is not None:
        note = f"answers by the reader in {reader.folder} (it never trained on this file's articles)"
    elif held_out:
        note = f"cross-validated: {', '.join(held_out)} scored by the fit without that article"
    else:
        note = "scored by the shipped fit (no article of this file was fitted on)"
    return format_squad_report(run, heading=f"{path.name}: {note}") + "\n\n" + retrieval
