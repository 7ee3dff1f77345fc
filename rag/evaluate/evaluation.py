"""Evaluation on a question set (format: data/eval/README.md): retrieval and answer figures."""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.types import Answer, Hit

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "data" / "eval" / "questions.jsonl"
MAX_ANSWER_WORDS = 120
MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    must: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Case-fold, straighten curly quotes, collapse white space: how the eval compares text."""
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    return " ".join(text.casefold().split())


def load_questions(path: str | Path) -> list[Question]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            out.append(
                Question(
                    id=data["id"],
                    question=data["question"],
                    answerable=bool(data.get("answerable", True)),
                    evidence=tuple(data.get("evidence", ())),
                    must=tuple(data.get("must", ())),
                )
            )
    return out


def first_gold_rank(question: Question, hits: Sequence[Hit]) -> int | None:
    evidence = [fold(e) for e in question.evidence]
    for rank, hit in enumerate(hits, start=1):
        text = fold(hit.text)
        if any(e in text for e in evidence):
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def answer_words(answer: Answer) -> int:
    return len(MARKER.sub(" ", answer.text).split())


def answer_is_correct(question: Question, answer: Answer) -> bool:
    if answer.abstained or answer_words(answer) > MAX_ANSWER_WORDS:
        return False
    text = fold(answer.text)
    return all(re.search(pattern, text, re.I) for pattern in question.must)


def evaluate(
    assistant, questions: Sequence[Question], modes: Sequence[str] = ("dense", "bm25", "hybrid"), scorer_for=None
) -> dict:
    """All the figures the project reports, as a dict (see `format_report`); each answer scored by
    `scorer_for(question)` (default: the assistant's scorer)."""
    from rag.answer.citations import grounding_problems

    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    retrieval = {}
    for mode in modes:
        ranks = [first_gold_rank(q, assistant.search(q.question, top_k=10, mode=mode)) for q in answerable]
        retrieval[mode] = {"recall@5": recall_at(ranks, 5), "mrr@10": mrr_at(ranks, 10)}
    assistant.ask("warm-up question")
    latencies, answers = [], {}
    for q in questions:
        started = time.perf_counter()
        answers[q.id] = assistant.ask(q.question, scorer=scorer_for(q) if scorer_for else None)
        latencies.append(time.perf_counter() - started)
    given = [a for a in answers.values() if not a.abstained]
    wrong = [q.id for q in answerable if not answer_is_correct(q, answers[q.id])]
    return {
        "questions": len(questions),
        "retrieval": retrieval,
        "facts": 1 - len(wrong) / len(answerable) if answerable else 0.0,
        "grounded": sum(1 for a in given if not grounding_problems(a)) / len(given) if given else 1.0,
        "abstain": sum(answers[q.id].abstained for q in unanswerable) / len(unanswerable) if unanswerable else 0.0,
        "false_abstain": sum(answers[q.id].abstained for q in answerable) / len(answerable) if answerable else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "wrong": wrong,
        "wrong_abstentions": [q.id for q in unanswerable if not answers[q.id].abstained],
        "answers": {qid: a for qid, a in answers.items()},
    }


def format_report(result: dict) -> str:
    lines = [
        f"questions: {result['questions']}",
        "",
        "| retrieval | recall@5 | MRR@10 |",
        "|---|---|---|",
    ]
    for mode, figures in result["retrieval"].items():
        lines.append(f"| {mode} | {figures['recall@5']:.3f} | {figures['mrr@10']:.3f} |")
    lines += [
        "",
        "| answers | value |",
        "|---|---|",
        f"| facts | {result['facts']:.3f} |",
        f"| grounded | {result['grounded']:.3f} |",
        f"| abstain | {result['abstain']:.3f} |",
        f"| false abstain | {result['false_abstain']:.3f} |",
        f"| ask() p50 | {result['p50_ms']:.1f} ms |",
    ]
    if result["wrong"] or result["wrong_abstentions"]:
        lines += ["", f"wrong: {', '.join(result['wrong']) or '-'}", f"answered, should abstain: "
                  f"{', '.join(result['wrong_abstentions']) or '-'}"]
    return "\n".join(lines)


