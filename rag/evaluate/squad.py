"""SQuAD 2.0 as an external test: a corpus made from a SQuAD-format file, its questions and the figures."""

from __future__ import annotations

import collections
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.evaluate.calibration import calibration_error, separation_auc
from rag.types import Answer, Hit

DEFAULT_SQUAD = Path(__file__).resolve().parents[2] / "data" / "squad2" / "dev-two-articles.json"
MARKER = re.compile(r"\[\d+\]")
FIRST_MARKER = MARKER
PUNCTUATION = set(string.punctuation) | set("‘’“”–—…«»")


@dataclass(frozen=True)
class SquadQuestion:
    """One SQuAD question: its article and paragraph (0-based, as in the file) and gold answer texts."""

    id: str
    question: str
    article: str
    paragraph: int
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class SquadArticle:
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class SquadSet:
    articles: tuple[SquadArticle, ...]
    questions: tuple[SquadQuestion, ...]

    def only(self, titles: Sequence[str]) -> "SquadSet":
        keep = set(titles)
        return SquadSet(
            tuple(a for a in self.articles if a.title in keep), tuple(q for q in self.questions if q.article in keep)
        )


def load_squad(path: str | Path) -> SquadSet:
    """Read a SQuAD 1.1/2.0 JSON file; a question with no answers (or `is_impossible`) is unanswerable."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{Path(path).name}: not a SQuAD-format file (no 'data' list)")
    articles, questions = [], []
    for article in data["data"]:
        title = str(article.get("title", "")).strip() or f"article-{len(articles) + 1}"
        contexts = []
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            contexts.append(str(paragraph["context"]))
            for qa in paragraph.get("qas", []):
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                questions.append(
                    SquadQuestion(
                        id=str(qa["id"]),
                        question=str(qa["question"]),
                        article=title,
                        paragraph=p,
                        answers=tuple(a["text"] for a in answers),
                        answer_starts=tuple(int(a.get("answer_start", -1)) for a in answers),
                    )
                )
        articles.append(SquadArticle(title, tuple(contexts)))
    return SquadSet(tuple(articles), tuple(questions))


def article_file_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", title).strip("._") or "article"


def write_corpus(squad: SquadSet, folder: Path) -> dict[str, str]:
    """One text file per article: its title on the first line, then each context as its own block.
    Returns {file name: article title}."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for article in squad.articles:
        name = article_file_name(article.title) + ".txt"
        text = article.title.replace("_", " ") + "\n\n" + "\n\n".join(" ".join(p.split()) for p in article.paragraphs)
        (folder / name).write_text(text + "\n", encoding="utf-8")
        names[name] = article.title
    return names


# ---------------------------------------------------------------- the SQuAD evaluation script's text rules


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation (curly quotes too) and the articles a/an/the, collapse white space
    (the official SQuAD 2.0 evaluation script's normalisation, with typographic punctuation added)."""
    text = "".join(c for c in text.lower() if c not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 of the official script."""
    pred, truth = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not truth:
        return float(pred == truth)
    common = collections.Counter(pred) & collections.Counter(truth)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(truth)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    """The text, normalised, contains one of the gold answers, normalised (on word boundaries)."""
    haystack = f" {normalize_answer(text)} "
    return any(normalize_answer(a) and f" {normalize_answer(a)} " in haystack for a in answers)


def answer_text(answer: Answer) -> str:
    return MARKER.sub(" ", answer.text)


def first_stretch(answer: Answer) -> str:
    """What a reader sees first: the text before the first citation marker."""
    match = FIRST_MARKER.search(answer.text)
    return answer.text[: match.start()] if match else answer.text


# ---------------------------------------------------------------- scoring one run


@dataclass(frozen=True)
class Outcome:
    """How one question went."""

    question: SquadQuestion
    retrieved_gold: bool  # a top-5 passage from its paragraph holding a gold answer (answerable only)
    abstained: bool
    hit: bool
    first_hit: bool
    short_em: float
    short_f1: float
    confidence: float
    would_be_right: bool  # the answer it would give (whatever the threshold) holds a gold answer


def paragraph_of_passage(text: str, contexts: Sequence[str]) -> int | None:
    """Which context a passage was cut from (cleaning may re-flow white space)."""
    needle = " ".join(text.split())
    for i, context in enumerate(contexts):
        if needle and needle in " ".join(context.split()):
            return i
    return None


def short_answer_scores(answer: Answer, question: SquadQuestion) -> tuple[float, float]:
    """Exact match and F1 as the official script gives them: an unanswerable question scores 1 for no answer."""
    if not question.answerable:
        return (float(answer.abstained),) * 2
    if answer.abstained or answer.short_answer is None:
        return 0.0, 0.0
    predicted = answer.short_answer.text
    return max(exact_match(predicted, g) for g in question.answers), max(f1_score(predicted, g) for g in question.answers)


def score_outcome(
    question: SquadQuestion, answer: Answer, hits: Sequence[Hit], contexts: Sequence[str], threshold: float = 0.0
) -> Outcome:
    """How the question went; an answer below `threshold` confidence counts as an abstention (the answer is
    asked for at any confidence so that calibration can be measured on every question)."""
    retrieved = question.answerable and gold_rank(question, hits[:5], contexts) is not None
    would_be_right = not answer.abstained and question.answerable and holds_answer(answer_text(answer), question.answers)
    if not answer.abstained and answer.confidence < threshold:
        answer = Answer(question=answer.question, text="", abstained=True, confidence=answer.confidence)
    given = not answer.abstained
    em, f1 = short_answer_scores(answer, question)
    return Outcome(
        question=question,
        retrieved_gold=retrieved,
        abstained=answer.abstained,
        hit=given and question.answerable and holds_answer(answer_text(answer), question.answers),
        first_hit=given and question.answerable and holds_answer(first_stretch(answer), question.answers),
        short_em=em,
        short_f1=f1,
        confidence=answer.confidence,
        would_be_right=would_be_right,
    )


@dataclass(frozen=True)
class Figures:
    """The figures of data/squad2/README.md for one set of outcomes."""

    questions: int
    answerable: int
    recall_at_5: float
    answer_hit: float
    first_hit: float
    false_abstain: float
    abstain: float
    accuracy: float
    short_em: float
    short_f1: float
    short_f1_answerable: float
    calibration_error: float  # over every question: confidence vs whether the answer it would give is right
    calibration_error_answerable: float  # the same over the answerable questions alone
    unanswerable_auc: float  # how well the confidence tells answerable questions from unanswerable ones (0.5: not)


def share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def figures(outcomes: Sequence[Outcome]) -> Figures:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    correct = sum(o.hit for o in answerable) + sum(o.abstained for o in unanswerable)
    return Figures(
        questions=len(outcomes),
        answerable=len(answerable),
        recall_at_5=share([o.retrieved_gold for o in answerable]),
        answer_hit=share([o.hit for o in answerable]),
        first_hit=share([o.first_hit for o in answerable]),
        false_abstain=share([o.abstained for o in answerable]),
        abstain=share([o.abstained for o in unanswerable]),
        accuracy=correct / len(outcomes) if outcomes else 0.0,
        short_em=sum(o.short_em for o in outcomes) / len(outcomes) if outcomes else 0.0,
        short_f1=sum(o.short_f1 for o in outcomes) / len(outcomes) if outcomes else 0.0,
        short_f1_answerable=sum(o.short_f1 for o in answerable) / len(answerable) if answerable else 0.0,
        calibration_error=calibration_error([(o.confidence, o.would_be_right) for o in outcomes]),
        calibration_error_answerable=calibration_error([(o.confidence, o.would_be_right) for o in answerable]),
        unanswerable_auc=separation_auc([(o.confidence, o.question.answerable) for o in outcomes]),
    )


# ---------------------------------------------------------------- running a set


@dataclass(frozen=True)
class SquadRun:
    """Every question's outcome for the assistant, and for the two reference points of the same run."""

    outcomes: tuple[Outcome, ...]
    abstain_always: tuple[Outcome, ...]
    best_cosine_sentence: tuple[Outcome, ...]

    def by_article(self) -> dict[str, Figures]:
        titles = dict.fromkeys(o.question.article for o in self.outcomes)
        return {t: figures([o for o in self.outcomes if o.question.article == t]) for t in titles}


def best_cosine_answer(assistant, question: str) -> Answer:
    """Reference point: always answer with the sentence of the top passage closest to the question."""
    hits = assistant.search(question, top_k=1)
    if not hits:
        return Answer(question=question, text="", abstained=True, confidence=0.0)
    index, passage = assistant.index, hits[0].passage
    rows = index.passage_sentence_rows(passage.passage_id)
    cosines = index.sentence_vectors[rows.start : rows.stop] @ assistant.encode_query(question)
    sentence = passage.sentence_text(passage.sentences[int(cosines.argmax())])
    return Answer(question=question, text=f"{sentence.strip()} [1]", abstained=False, confidence=1.0)


def run_squad(assistant, squad: SquadSet, scorer_for=None) -> SquadRun:
    """Ask every question with no history, with `scorer_for(question)` (default: the assistant's scorer),
    and score it against that scorer's operating point."""
    from rag.answer.scoring import load_scorer

    contexts = {a.title: a.paragraphs for a in squad.articles}
    outcomes, never, reference = [], [], []
    for q in squad.questions:
        scorer = scorer_for(q) if scorer_for else (assistant.scorer or load_scorer())
        answer = assistant.ask(q.question, scorer=scorer, min_confidence=0.0)
        hits = assistant.search(q.question, top_k=5)
        operating_point = assistant.reader.min_confidence if assistant.reader else scorer.min_confidence
        threshold = operating_point if assistant.min_confidence is None else assistant.min_confidence
        outcomes.append(score_outcome(q, answer, hits, contexts[q.article], threshold))
        silent = Answer(question=q.question, text="", abstained=True, confidence=0.0)
        never.append(score_outcome(q, silent, hits, contexts[q.article]))
        reference.append(score_outcome(q, best_cosine_answer(assistant, q.question), hits, contexts[q.article]))
    return SquadRun(tuple(outcomes), tuple(never), tuple(reference))


FIGURE_COLUMNS = (
    ("recall@5", "recall_at_5"),
    ("answer_hit", "answer_hit"),
    ("first_hit", "first_hit"),
    ("false_abstain", "false_abstain"),
    ("abstain", "abstain"),
    ("accuracy", "accuracy"),
    ("short EM", "short_em"),
    ("short F1", "short_f1"),
    ("short F1 (answerable)", "short_f1_answerable"),
    ("calibration error", "calibration_error"),
    ("calibration error (answerable)", "calibration_error_answerable"),
    ("confidence AUC, answerable vs not", "unanswerable_auc"),
)


def format_squad_report(run: SquadRun, heading: str = "") -> str:
    """A markdown table: the assistant overall and per article, beside the two reference points."""
    rows = [("assistant, all", figures(run.outcomes))]
    rows += [(f"assistant, {title}", f) for title, f in run.by_article().items()]
    rows += [
        ("reference: abstain on everything", figures(run.abstain_always)),
        ("reference: best-cosine sentence of the top passage", figures(run.best_cosine_sentence)),
    ]
    answerable = figures(run.outcomes).answerable
    lines = [heading] if heading else []
    lines += [
        f"questions: {len(run.outcomes)} ({answerable} answerable)",
        "",
        "| run | " + " | ".join(name for name, _ in FIGURE_COLUMNS) + " |",
        "|---|" + "---|" * len(FIGURE_COLUMNS),
    ]
    for name, f in rows:
        lines.append(f"| {name} | " + " | ".join(f"{getattr(f, attr):.3f}" for _, attr in FIGURE_COLUMNS) + " |")
    return "\n".join(lines)


def gold_rank(question: SquadQuestion, hits: Sequence[Hit], contexts: Sequence[str]) -> int | None:
    """Rank of the first passage from the question's paragraph that holds a gold answer."""
    for rank, hit in enumerate(hits, start=1):
        if paragraph_of_passage(hit.text, contexts) == question.paragraph and holds_answer(hit.text, question.answers):
            return rank
    return None


