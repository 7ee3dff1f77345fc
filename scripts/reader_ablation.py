"""The reader's ablation on the validation pair: gold paragraph, behind retrieval with each decoding, confidences.

.venv/bin/python scripts/reader_ablation.py rag/models/reader.work/readings.pkl [--reader rag/models/reader]
Reads what `python -m rag train-reader` kept (the validation and calibration readings) and prints a table."""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluate.calibration import calibration_error, separation_auc  # noqa: E402
from rag.answer.reader import Reader, choose_span  # noqa: E402
from rag.train.reader_fit import DATA, VALIDATION_FILE, sentence_hit  # noqa: E402
from rag.evaluate.squad import f1_score, holds_answer, load_squad  # noqa: E402


def gold_paragraph(reader: Reader) -> tuple[float, float]:
    """The reader given each answerable question's own paragraph: the sentence holding its best span, its F1."""
    squad = load_squad(DATA / VALIDATION_FILE)
    contexts = {a.title: a.paragraphs for a in squad.articles}
    sentences = f1s = n = 0
    for q in squad.questions:
        if not q.answerable:
            continue
        context = contexts[q.article][q.paragraph]
        choice = choose_span(reader.read(q.question, [context]), 0.0)
        n += 1
        if choice is None:
            continue
        phrase = context[choice.span.start : choice.span.end]
        f1s += max(f1_score(phrase, g) for g in q.answers)
        start = max(context.rfind(". ", 0, choice.span.start) + 2, 0)
        end = context.find(". ", choice.span.end)
        sentences += holds_answer(context[start : end if end > 0 else len(context)], q.answers)
    return sentences / n, f1s / n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("readings")
    parser.add_argument("--reader", default=None)
    args = parser.parse_args()
    reader = Reader(args.reader)
    validation, _ = pickle.loads(Path(args.readings).read_bytes())
    answerable = [i for i in validation if i.question.answerable]
    print("| setting (validation pair, answerable questions) | answer sentence right | short F1 (forced) |")
    print("|---|---|---|")
    sentence, f1 = gold_paragraph(reader)
    print(f"| reader, gold paragraph given | {sentence:.3f} | {f1:.3f} |")
    for passages, penalty, label in [(1, 0.0, "top passage only"), (5, 0.0, "top 5, best span, rank ignored"),
                                     (8, 0.0, "top 8, best span, rank ignored"),
                                     (reader.passages_read, reader.rank_penalty, "as shipped")]:
        hits, f1s = 0, 0.0
        for item in answerable:
            right, _ = sentence_hit(item, passages, penalty)
            hits += right
            choice = choose_span(item.readings[:passages], penalty)
            if choice:
                text = item.hits[choice.span.passage].text[choice.span.start : choice.span.end]
                f1s += max(f1_score(text, g) for g in item.question.answers)
        print(f"| reader behind retrieval: {label} ({passages} passages, rank penalty {penalty}) | "
              f"{hits / len(answerable):.3f} | {f1s / len(answerable):.3f} |")
    print()
    print("| confidence (all questions) | answerable-vs-not AUC | calibration error |")
    print("|---|---|---|")
    for name in ("margin", "best_margin", "top_margin"):
        scored = []
        for item in validation:
            _, features = sentence_hit(item, reader.passages_read, reader.rank_penalty)
            scored.append((features[name] if features else -50.0, item.question.answerable))
        print(f"| the reader's {name} alone | {separation_auc(scored):.3f} | |")
    pairs, scored = [], []
    for item in validation:
        right, features = sentence_hit(item, reader.passages_read, reader.rank_penalty)
        p = reader.confidence.probability(features) if features else 0.0
        pairs.append((p, right))
        scored.append((p, item.question.answerable))
    print(f"| combined confidence (shipped) | {separation_auc(scored):.3f} | {calibration_error(pairs):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
