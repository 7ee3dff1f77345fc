"""Labelled questions to fit and measure on: the news dev set and SQuAD-format files, with what counts as right."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from rag.evaluate.evaluation import fold, load_questions
from rag.evaluate.squad import holds_answer, load_squad, write_corpus

MARKERS = re.compile(r"\[\d+\]")
OFF_CORPUS_EVERY = 3  # a third of each set's answerable questions are also asked of the other sets' articles


@dataclass(frozen=True)
class LabelledQuestion:
    """A question with its gold: SQuAD answer texts, or the news set's evidence strings and `must` patterns."""

    group: str  # the unit of cross-validation: "news:…" or "squad:<article>:…"
    paragraph: str  # questions of one paragraph stay together when the fit splits its own data
    question: str
    answerable: bool
    answers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    must: tuple[str, ...] = ()
    # SQuAD 2.0's unanswerable questions, written to look answerable from their paragraph ("What is France a
    # region of?"): kept for evaluation, left out of the confidence's fit (see rag/train/fitting.py answer_rows)
    adversarial: bool = False
    # asked of another set's articles, which do not cover it: a question the articles never answer
    off_corpus: bool = False


def sentence_holds_answer(text: str, q: LabelledQuestion) -> bool:
    """A candidate sentence that answers: holds a SQuAD gold answer, or a news evidence string, or every
    `must` pattern."""
    if not q.answerable:
        return False
    if q.answers:
        return holds_answer(text, q.answers)
    folded = fold(text)
    return any(fold(e) in folded for e in q.evidence) or bool(q.must) and all(
        re.search(p, folded, re.I) for p in q.must
    )


def answer_is_right(text: str, q: LabelledQuestion) -> bool:
    """What the evaluations count as right: a SQuAD gold answer in the text, or every `must` pattern."""
    if not q.answerable:
        return False
    text = MARKERS.sub(" ", text)
    if q.answers:
        return holds_answer(text, q.answers)
    folded = fold(text)
    return all(re.search(p, folded, re.I) for p in q.must)


def digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:10]


def news_groups(questions_path: Path, seeds: Path) -> dict[str, str]:
    """Question id -> cross-validation group: the article that holds its evidence (news questions are about
    five articles, so folds by article keep each article's questions out of the fit that scores them);
    unanswerable questions are dealt round the articles in file order."""
    from rag.ingest.articles import load_articles

    questions = load_questions(questions_path)
    articles = load_articles(seeds)
    tag = digest([q.question for q in questions])
    groups, dealt = {}, 0
    for q in questions:
        holder = next((a.doc_id for a in articles if any(fold(e) in fold(a.text) for e in q.evidence)), None)
        if holder is None:
            holder, dealt = articles[dealt % len(articles)].doc_id, dealt + 1
        groups[q.id] = f"news:{tag}:{holder}"
    return groups


def squad_group(title: str, paragraphs: Sequence[str]) -> str:
    return f"squad:{title}:{digest(paragraphs)}"


@dataclass(frozen=True)
class LabelledSet:
    """Labelled questions over one corpus folder (articles as files)."""

    name: str
    corpus: Path
    questions: tuple[LabelledQuestion, ...]


def news_set(questions_path: Path, seeds: Path) -> LabelledSet:
    groups = news_groups(questions_path, seeds)
    questions = tuple(
        LabelledQuestion(groups[q.id], q.id, q.question, q.answerable, evidence=q.evidence, must=q.must)
        for q in load_questions(questions_path)
    )
    return LabelledSet("news", seeds, questions)


def squad_set(path: Path, folder: Path) -> LabelledSet:
    """The SQuAD file written as a corpus into `folder` (one file per article), with its questions."""
    squad = load_squad(path)
    write_corpus(squad, folder)
    groups = {a.title: squad_group(a.title, a.paragraphs) for a in squad.articles}
    questions = tuple(
        LabelledQuestion(
            groups[q.article], f"{q.article}#{q.paragraph}", q.question, q.answerable, answers=q.answers,
            adversarial=not q.answerable,
        )
        for q in squad.questions
    )
    return LabelledSet(f"squad:{path.name}", folder, questions)


def off_corpus_questions(source: LabelledSet, every: int = OFF_CORPUS_EVERY) -> tuple[LabelledQuestion, ...]:
    """Every `every`-th answerable question of one set, to be asked of another set's articles, which do not
    answer it: the kind of question a reader asks about something the articles never mention."""
    answerable = [q for q in source.questions if q.answerable]
    return tuple(
        replace(q, paragraph=f"{q.paragraph}@elsewhere", answerable=False, answers=(), evidence=(), must=(),
                off_corpus=True)
        for q in answerable[::every]
    )
