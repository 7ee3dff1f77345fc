"""How well the reader tells answerable from not when given each question's own paragraph (AUC, 300 sampled questions per file).

.venv/bin/python scripts/reader_answerability.py READER_FOLDER data/squad2/train-ten-articles.json data/squad2/dev-two-articles.json"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluate.calibration import separation_auc  # noqa: E402
from rag.answer.reader import Reader  # noqa: E402

SAMPLE = 300
SEED = 1


def questions(path: str) -> list[tuple[str, str, bool]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    return [(p["context"], q["question"], not q.get("is_impossible", False))
            for a in data for p in a["paragraphs"] for q in p["qas"]]


def main() -> None:
    reader = Reader(sys.argv[1])
    for path in sys.argv[2:]:
        items = questions(path)
        random.Random(SEED).shuffle(items)
        margins, answerable = [], []
        for context, question, label in items[:SAMPLE]:
            reading = reader.read(question, [context])[0]
            margins.append(reading.best_score - reading.null_score)
            answerable.append(label)
        auc = separation_auc(list(zip(margins, answerable)))
        print(f"{Path(path).name}: {len(margins)} questions, {sum(answerable)} answerable, AUC with the gold paragraph {auc:.3f}")


if __name__ == "__main__":
    main()
