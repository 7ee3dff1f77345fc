"""Fitting the answer scorer on labelled questions (scikit-learn, fit time only): `python -m rag fit`."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.answer.compose import Evidence, Scored, gather_evidence, rank_candidates, select_sentences
from rag.answer.features import ANSWER_FEATURES, SENTENCE_FEATURES, answer_feature_vector
from rag.answer.question import parse_question
from rag.answer.scoring import LogisticModel, Scorer
from rag.answer.short_answer import SPAN_FEATURES, span_candidates, span_feature_matrix, tokenize
from rag.evaluate.labelled import (
    LabelledQuestion,
    LabelledSet,
    answer_is_right,
    off_corpus_questions,
    sentence_holds_answer,
)
from rag.evaluate.squad import f1_score
from rag.index.corpus_index import CorpusIndex
from rag.train.selection import forward_select, macro_mean

log = logging.getLogger(__name__)

FIT_TOP_K = 5  # the passages the composer draws from by default (Assistant.top_k)
INNER_FOLDS = 5  # out-of-fold predictions inside a fit, split by paragraph
REGULARISATION_C = 1.0  # scikit-learn's default L2 strength, on standardised features
MAX_FALSE_ABSTAIN = 0.10  # the operating point: abstain on at most this share of answerable questions
MIN_SUPPORT = 0.5  # a further sentence is quoted only when it more likely than not holds the answer itself
MIN_SPAN_PROBABILITY = 0.1  # a short answer is shown when its expected F1 with the truth is at least this


@dataclass(frozen=True)
class QuestionRecord:
    """One labelled question as the composer sees it: its evidence and which candidates hold the answer."""

    question: LabelledQuestion
    evidence: Evidence
    labels: np.ndarray
    index: CorpusIndex


def extract_records(
    labelled: LabelledSet, embedder, index_dir: Path, top_k: int = FIT_TOP_K, extra: Sequence[LabelledQuestion] = ()
) -> list[QuestionRecord]:
    """Build (or load) the index of the set's corpus and gather every question's evidence, as ask() would;
    `extra` questions (other sets' questions, off this corpus) are asked of it too."""
    from rag.assistant import Assistant

    assistant = Assistant(seeds_dir=labelled.corpus, index_dir=index_dir, embedder=embedder)
    index = assistant.index
    records = []
    for q in (*labelled.questions, *extra):
        evidence = gather_evidence(index, embedder.encode, parse_question(q.question, (), index), top_k=top_k)
        labels = np.array([sentence_holds_answer(c.text, q) for c in evidence.candidates], dtype=bool)
        records.append(QuestionRecord(q, evidence, labels, index))
    return records


# ---------------------------------------------------------------- scikit-learn


def set_of(record: QuestionRecord) -> str:
    return record.question.group.split(":", 1)[0]


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, names: Sequence[str], weights: np.ndarray | None = None
) -> LogisticModel:
    """Standardise, then L2-regularised logistic regression (lbfgs: deterministic for the same data)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000)
    model.fit(scaler.transform(features), labels, sample_weight=weights)
    return LogisticModel(
        tuple(names),
        tuple(float(v) for v in scaler.mean_),
        tuple(float(v) for v in scaler.scale_),
        tuple(float(v) for v in model.coef_[0]),
        float(model.intercept_[0]),
    )


def out_of_fold(
    features: np.ndarray, labels: np.ndarray, groups: np.ndarray, names: Sequence[str], weights: np.ndarray
) -> np.ndarray:
    """Each row's probability from a model fitted without its group's fold (GroupKFold, no shuffling)."""
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(labels))
    folds = min(INNER_FOLDS, len(set(groups)))
    for train, test in GroupKFold(n_splits=folds).split(features, labels, groups):
        if len(set(labels[train])) < 2:
            out[test] = labels[train].mean()
            continue
        model = fit_logistic(features[train], labels[train], names, weights[train])
        out[test] = model.probabilities(features[test])
    return out


# ---------------------------------------------------------------- the three models


@dataclass(frozen=True)
class Rows:
    """A design matrix with its labels, fold groups (paragraph keys) and sample weights."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    weights: np.ndarray


def sentence_rows(records: Sequence[QuestionRecord]) -> Rows:
    """Every candidate sentence of every answerable question (all SENTENCE_FEATURES columns): the model says
    which sentence holds the answer, given that one does."""
    kept = [r for r in records if len(r.labels) and r.question.answerable]
    if not kept:
        return Rows(np.zeros((0, len(SENTENCE_FEATURES))), np.zeros(0, dtype=bool), np.zeros(0), np.zeros(0))
    labels = np.concatenate([r.labels for r in kept])
    return Rows(
        np.vstack([r.evidence.features for r in kept]),
        labels,
        np.concatenate([[r.question.paragraph] * len(r.labels) for r in kept]),
        np.ones(len(labels)),
    )


def scored_candidates(record: QuestionRecord, probabilities: np.ndarray) -> list[Scored]:
    return rank_candidates(record.evidence, probabilities)


@dataclass(frozen=True)
class AnswerRows:
    """Per question with a draft answer: its features, whether it is right, and the question itself."""

    rows: Rows
    records: tuple[QuestionRecord, ...]


def answer_rows(
    records: Sequence[QuestionRecord], probabilities: Sequence[np.ndarray], min_support: float
) -> AnswerRows:
    """Per question: the answer the composer would draft, its ANSWER_FEATURES, and whether it is right.
    A question with no candidate gets no row (the composer abstains on it whatever the model says)."""
    rows, labels, kept = [], [], []
    for record, p in zip(records, probabilities):
        if record.question.adversarial:
            # SQuAD 2.0's look-alike unanswerables: nothing we measure tells them apart (the confidence's AUC,
            # answerable vs not, is about 0.5 in `rag eval --squad`), and their writers copied the paragraph's
            # words, so learning from them would teach the confidence to distrust exact matches. They stay in
            # every evaluation.
            continue
        scored = scored_candidates(record, p)
        chosen = select_sentences(scored, record.index, min_support)
        if not chosen:
            continue
        candidates = [g[0].candidate for g in chosen]
        best = chosen[0][0]
        ev = record.evidence
        rows.append(answer_feature_vector(candidates, [s.probability for s in scored], ev.features[best.row],
                                          ev.terms, record.index, ev.hits))
        labels.append(answer_is_right(" ".join(c.text for c in candidates), record.question))
        kept.append(record)
    features = np.array(rows).reshape(-1, len(ANSWER_FEATURES))
    groups = np.array([r.question.paragraph for r in kept])
    return AnswerRows(Rows(features, np.array(labels, dtype=bool), groups, np.ones(len(kept))), tuple(kept))


def span_rows(records: Sequence[QuestionRecord]) -> Rows:
    """Phrases of every candidate sentence that holds a SQuAD gold answer, as soft labels: each phrase is a
    positive row weighted by its F1 with the gold answer and a negative row weighted by the rest, so that the
    fitted probability estimates the phrase's expected F1."""
    features, f1s, groups = [], [], []
    for record in records:
        q = record.question
        if not q.answers:
            continue
        for candidate, holds in zip(record.evidence.candidates, record.labels):
            if not holds:
                continue
            tokens = tokenize(candidate.text)
            spans = span_candidates(tokens, candidate.text)
            if not spans:
                continue
            features.append(span_feature_matrix(spans, tokens, record.evidence.question))
            f1s += [max(f1_score(s.text, g) for g in q.answers) for s in spans]
            groups += [q.paragraph] * len(spans)
    if not features:
        return Rows(np.zeros((0, len(SPAN_FEATURES))), np.zeros(0, dtype=bool), np.zeros(0), np.zeros(0))
    x, f1 = np.vstack(features), np.array(f1s)
    return Rows(
        np.vstack([x, x]),
        np.concatenate([np.ones(len(f1), dtype=bool), np.zeros(len(f1), dtype=bool)]),
        np.array(groups + groups),
        np.concatenate([f1, 1.0 - f1]) + 1e-9,  # lbfgs needs every weight above zero
    )


def operating_point(confidence: np.ndarray, answerable: np.ndarray, sets: np.ndarray, max_false_abstain: float) -> float:
    """The highest confidence threshold at which, on out-of-fold predictions, at most `max_false_abstain` of
    the answerable questions are abstained on, each labelled set counting the same (a recall floor, as QA
    systems are usually deployed): a higher threshold would trade answers people can use for fewer wrong ones."""
    names = sorted(set(sets.tolist()))
    best = 0.0
    for t in np.sort(np.unique(np.round(confidence, 4))):
        false_abstain = np.mean([np.mean(confidence[(sets == n) & answerable] < t) for n in names])
        if false_abstain > max_false_abstain:
            break
        best = float(t)
    return best


def sentence_top1_by_group(records: Sequence[QuestionRecord], columns: list[int]) -> dict[str, float]:
    """For each group (article), the share of its answerable questions whose likeliest candidate holds the
    answer, by a model fitted on the other groups with these columns."""
    groups = sorted({r.question.group for r in records})
    out = {}
    for group in groups:
        train = sentence_rows([r for r in records if r.question.group != group])
        test = [r for r in records if r.question.group == group and r.question.answerable and len(r.labels)]
        if not test or len(set(train.labels.tolist())) < 2:
            continue
        model = fit_logistic(train.features[:, columns], train.labels, [SENTENCE_FEATURES[c] for c in columns])
        out[group] = float(np.mean([r.labels[np.argmax(model.probabilities(r.evidence.features[:, columns]))] for r in test]))
    return out


def answer_log_loss_by_group(drafts: AnswerRows, columns: list[int]) -> dict[str, float]:
    """For each group, the log loss of its drafts' rightness under a model fitted on the other groups."""
    groups = np.array([r.question.group for r in drafts.records])
    x, y = drafts.rows.features[:, columns], drafts.rows.labels
    out = {}
    for group in sorted(set(groups.tolist())):
        train, test = groups != group, groups == group
        if len(set(y[train].tolist())) < 2:
            continue
        p = fit_logistic(x[train], y[train], [ANSWER_FEATURES[c] for c in columns]).probabilities(x[test])
        p = np.clip(p, 1e-6, 1 - 1e-6)
        out[group] = float(-np.mean(np.where(y[test], np.log(p), np.log(1 - p))))
    return out


def group_set(group: str) -> str:
    return group.split(":", 1)[0]


def select_sentence_features(records: Sequence[QuestionRecord]) -> list[str]:
    """Forward selection on answer-sentence top-1, each group (article) held out in turn."""
    columns = forward_select(SENTENCE_FEATURES, lambda cols: macro_mean(sentence_top1_by_group(records, cols), group_set))
    return [SENTENCE_FEATURES[c] for c in columns]


def select_answer_features(drafts: AnswerRows) -> list[str]:
    """Forward selection on the log loss of the confidence, each group held out in turn."""
    columns = forward_select(ANSWER_FEATURES, lambda cols: -macro_mean(answer_log_loss_by_group(drafts, cols), group_set))
    return [ANSWER_FEATURES[c] for c in columns]


def fit_models(
    records: Sequence[QuestionRecord],
    sentence_features: Sequence[str] | None = None,
    answer_features: Sequence[str] | None = None,
) -> Scorer:
    """The answer-sentence model, then (on its out-of-fold probabilities) the answerability model and its
    threshold, then the short-answer model. Features are selected unless given."""
    sentence_features = list(sentence_features or select_sentence_features(records))
    s_cols = [SENTENCE_FEATURES.index(n) for n in sentence_features]
    rows = sentence_rows(records)
    sentence = fit_logistic(rows.features[:, s_cols], rows.labels, sentence_features)
    oof = out_of_fold(rows.features[:, s_cols], rows.labels, rows.groups, sentence_features, rows.weights)
    per_record, start = [], 0
    for r in records:  # out-of-fold for the questions the sentence model saw, its plain output for the rest
        if len(r.labels) and r.question.answerable:
            per_record.append(oof[start : start + len(r.labels)])
            start += len(r.labels)
        else:
            per_record.append(sentence.probabilities(r.evidence.features[:, s_cols]) if len(r.labels) else oof[:0])
    drafts = answer_rows(records, per_record, MIN_SUPPORT)
    answer_features = list(answer_features or select_answer_features(drafts))
    a_cols = [ANSWER_FEATURES.index(n) for n in answer_features]
    a = drafts.rows
    answerable = fit_logistic(a.features[:, a_cols], a.labels, answer_features)
    answer_oof = out_of_fold(a.features[:, a_cols], a.labels, a.groups, answer_features, a.weights)
    is_answerable = np.array([r.question.answerable for r in drafts.records], dtype=bool)
    sets = np.array([set_of(r) for r in drafts.records])
    threshold = operating_point(answer_oof, is_answerable, sets, MAX_FALSE_ABSTAIN)
    spans = span_rows(records)
    span = fit_logistic(spans.features, spans.labels, SPAN_FEATURES, spans.weights)
    return Scorer(sentence, answerable, span, threshold, MIN_SUPPORT, MIN_SPAN_PROBABILITY)


def fit_scorer(records: Sequence[QuestionRecord]) -> Scorer:
    """The shipped scorer: fitted on every group, with a fit without each group for honest figures on it. The
    held-out fits reuse the features the full fit selected (selecting again per group would cost eight
    selections; the figures it yields carry that mild selection bias, said where they are reported)."""
    groups = tuple(sorted({r.question.group for r in records}))
    full = fit_models(records)
    chosen = (full.sentence.features, full.answerable.features)
    held_out = {g: fit_models([r for r in records if r.question.group != g], *chosen) for g in groups}
    return Scorer(
        full.sentence, full.answerable, full.span, full.min_confidence, full.min_support,
        full.min_span_probability, groups, held_out,
    )


def labelled_sets(questions: Path, seeds: Path, squad_files: Sequence[Path], workdir: Path) -> list[LabelledSet]:
    from rag.evaluate.labelled import news_set, squad_set

    sets = [news_set(questions, seeds)] if questions else []
    for i, path in enumerate(squad_files):
        sets.append(squad_set(path, workdir / f"squad-corpus-{i}"))
    return sets


def fit_from_files(questions: Path, seeds: Path, squad_files: Sequence[Path], embedder, workdir: Path | None = None) -> Scorer:
    """Everything `python -m rag fit` does but writing the file."""
    with tempfile.TemporaryDirectory(prefix="rag-fit-") as tmp:
        work = Path(workdir or tmp)
        records: list[QuestionRecord] = []
        sets = labelled_sets(questions, seeds, squad_files, work)
        for i, labelled in enumerate(sets):
            elsewhere = [q for other in sets if other is not labelled for q in off_corpus_questions(other)]
            log.info("gathering evidence for %d questions of %s", len(labelled.questions), labelled.name)
            records += extract_records(labelled, embedder, work / f"index-{i}", extra=elsewhere)
        return fit_scorer(records)


def write_scorer(scorer: Scorer, path: Path) -> None:
    from rag.answer.scoring import scorer_to_json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scorer_to_json(scorer), encoding="utf-8")
