"""Fitting around the reader: decoding chosen on the validation pair, confidence fitted on held-out training articles."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.answer.reader import CONFIDENCE_FEATURES, ConfidenceModel, PassageReading, Reader, choose_span
from rag.evaluate.squad import SquadQuestion, SquadSet, holds_answer, write_corpus
from rag.train.reader_train import CALIBRATION_FILE, DATA, TRAINING_FILES, VALIDATION_FILE
from rag.types import Hit

MAX_PASSAGES = 8  # the most passages any decoding considered reads
PASSAGE_CHOICES = (3, 4, 5, 6, 8)
RANK_PENALTIES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
DECODING_TOLERANCE = 0.005  # a decoding this close to the best is as good: the cheaper one is taken


@dataclass(frozen=True)
class ReadQuestion:
    """One question with its retrieved passages and the reader's view of each."""

    question: SquadQuestion
    hits: tuple[Hit, ...]
    readings: tuple[PassageReading, ...]


def sentence_at(hit: Hit, offset: int) -> str:
    """The sentence of a passage holding a character offset of the passage text."""
    passage = hit.passage
    for span in passage.sentences:
        if span.start - passage.start <= offset < span.end - passage.start:
            return passage.sentence_text(span)
    return passage.text


def collect(squad: SquadSet, reader: Reader, embedder=None, progress: bool = False) -> list[ReadQuestion]:
    """Every question of a SQuAD set asked of a temporary corpus of its articles: retrieval as the assistant
    does it, then the reader on the first MAX_PASSAGES passages."""
    from rag.assistant import Assistant

    out = []
    with tempfile.TemporaryDirectory(prefix="rag-reader-") as tmp:
        write_corpus(squad, Path(tmp) / "corpus")
        assistant = Assistant(seeds_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index", embedder=embedder)
        for i, q in enumerate(squad.questions):
            hits = tuple(assistant.search(q.question, top_k=MAX_PASSAGES))
            out.append(ReadQuestion(q, hits, reader.read(q.question, [h.text for h in hits])))
            if progress and i % 50 == 0:
                print(f"\rreading {i + 1}/{len(squad.questions)}", end="", flush=True)
    if progress:
        print()
    return out


def sentence_hit(item: ReadQuestion, passages: int, rank_penalty: float) -> tuple[bool, dict | None]:
    choice = choose_span(item.readings[:passages], rank_penalty)
    if choice is None:
        return False, None
    hit = item.hits[choice.span.passage]
    right = item.question.answerable and holds_answer(sentence_at(hit, choice.span.start), item.question.answers)
    return right, dict(choice.features)


def choose_decoding(items: Sequence[ReadQuestion]) -> dict:
    """Passages read and rank penalty with the most answer sentences right on answerable questions."""
    answerable = [i for i in items if i.question.answerable]
    table = []
    for n in PASSAGE_CHOICES:
        for penalty in RANK_PENALTIES:
            right = sum(sentence_hit(i, n, penalty)[0] for i in answerable) / max(1, len(answerable))
            table.append({"passages": n, "rank_penalty": penalty, "sentence_hit": round(right, 4)})
    # each passage read costs time: the fewest passages within DECODING_TOLERANCE of the best, then its best penalty
    top = max(r["sentence_hit"] for r in table)
    fewest = min(r["passages"] for r in table if r["sentence_hit"] >= top - DECODING_TOLERANCE)
    best = max((r for r in table if r["passages"] == fewest), key=lambda r: (r["sentence_hit"], -r["rank_penalty"]))
    return {"passages": best["passages"], "rank_penalty": best["rank_penalty"], "table": table}


def confidence_rows(items: Sequence[ReadQuestion], passages: int, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for item in items:
        right, features = sentence_hit(item, passages, penalty)
        if features is None:
            continue
        rows.append([features[name] for name in CONFIDENCE_FEATURES])
        labels.append(int(right))
    return np.array(rows, dtype=np.float64), np.array(labels)


def fit_confidence(items: Sequence[ReadQuestion], passages: int, penalty: float) -> ConfidenceModel:
    """P(the answer sentence holds the answer), a standardised logistic regression (Platt-style) fitted on
    questions of articles the reader never trained on."""
    from sklearn.linear_model import LogisticRegression

    x, y = confidence_rows(items, passages, penalty)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant feature (kept for a fixed layout) weighs nothing
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
    return ConfidenceModel(
        CONFIDENCE_FEATURES,
        tuple(np.round(mean, 6)),
        tuple(np.round(scale, 6)),
        tuple(np.round(model.coef_[0], 6)),
        round(float(model.intercept_[0]), 6),
    )


def operating_point(items: Sequence[ReadQuestion], passages: int, penalty: float, model: ConfidenceModel) -> float:
    """The threshold with the best accuracy (right answers + abstentions on unanswerable questions)."""
    scored = []
    for item in items:
        right, features = sentence_hit(item, passages, penalty)
        p = model.probability(features) if features else 0.0
        scored.append((p, right, item.question.answerable))
    best, best_accuracy = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        accuracy = sum((right if p >= t else not answerable) for p, right, answerable in scored) / len(scored)
        if accuracy > best_accuracy:
            best, best_accuracy = float(t), accuracy
    return best


def write_manifest(folder: Path, record: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the whole command

WORK_ENV = "RAG_READER_WORK"  # where training keeps its weights, graph and readings (default index/reader-training)


def calibration_set(data: Path) -> SquadSet:
    from rag.evaluate.squad import load_squad
    from rag.train.reader_train import calibration_articles

    return load_squad(data / CALIBRATION_FILE).only(calibration_articles(data / CALIBRATION_FILE))


def fit_around(folder: Path, data: Path, record: dict, embedder=None, progress: bool = True,
               keep_readings: Path | None = None, fp32_model: Path | None = None) -> dict:
    """Decoding chosen on the validation pair; confidence and operating point fitted on the held-out training
    articles; the manifest written. Returns it."""
    from rag.evaluate.squad import load_squad

    write_manifest(folder, record)  # the reader loads with default decoding while its decoding is chosen
    reader = Reader(folder)
    validation = collect(load_squad(data / VALIDATION_FILE), reader, embedder, progress)
    decoding = choose_decoding(validation)
    quantisation = {}
    if fp32_model is not None:  # int8 ships (a quarter of the size) if it reads as well as fp32
        import shutil

        with tempfile.TemporaryDirectory(prefix="rag-reader-fp32-") as tmp:
            shutil.copyfile(folder / "tokenizer.json", Path(tmp) / "tokenizer.json")
            write_manifest(Path(tmp), {"model_file": str(Path(fp32_model).resolve())})
            fp32 = collect(load_squad(data / VALIDATION_FILE), Reader(tmp), embedder, progress)
        answerable = [i for i in validation if i.question.answerable]
        for name, items in (("int8", validation), ("fp32", fp32)):
            right = [sentence_hit(i, decoding["passages"], decoding["rank_penalty"])[0] for i in items if i.question.answerable]
            quantisation[f"{name}_sentence_hit"] = round(sum(right) / max(1, len(answerable)), 4)
    calibration = collect(calibration_set(data), reader, embedder, progress)
    if keep_readings is not None:  # for looking at the decisions afterwards without reading again
        import pickle

        Path(keep_readings).write_bytes(pickle.dumps((validation, calibration)))
    model = fit_confidence(calibration, decoding["passages"], decoding["rank_penalty"])
    threshold = operating_point(calibration, decoding["passages"], decoding["rank_penalty"], model)
    manifest = {
        **record,
        "decoding": {"passages": decoding["passages"], "rank_penalty": decoding["rank_penalty"]},
        "decoding_table": decoding["table"],
        "confidence": model.to_dict(),
        "min_confidence": threshold,
        "calibration_questions": len(calibration),
        "quantisation": quantisation,
    }
    write_manifest(folder, manifest)
    return manifest


def train_reader(folder: Path, data: Path = DATA, epochs: float = 1.0, max_questions: int = 0, state: Path | None = None,
                 embedder=None, answerability_stage: bool = False) -> dict:
    """`python -m rag train-reader`: fine-tune (unless `state` gives trained weights), export, quantise, fit."""
    import hashlib
    import shutil

    from rag.answer.reader import MODEL_FILE
    from rag.index.encoder import default_model_path
    from rag.train.reader_export import copy_tokenizer, export_reader, quantize_reader
    from rag.train.reader_train import ANSWERABILITY_LEARNING_RATE, train

    model_dir = default_model_path()
    folder = Path(folder)
    work = Path(os.environ.get(WORK_ENV) or DATA.parent.parent / "index" / "reader-training")  # not committed
    work.mkdir(parents=True, exist_ok=True)
    if state is None:
        files = [data / f for f in TRAINING_FILES]
        record = train(files, data / CALIBRATION_FILE, model_dir, work, epochs, max_questions=max_questions)
        if answerability_stage:  # measured, not shipped: see ANSWERABILITY_LEARNING_RATE
            first = work / "first-stage"
            first.mkdir(exist_ok=True)
            for name in ("reader.pt", "training.json"):
                (work / name).replace(first / name)
            record = {**train(files, data / CALIBRATION_FILE, model_dir, work, 1.0, max_questions=max_questions,
                              init=first / "reader.pt", balance=True, learning_rate=ANSWERABILITY_LEARNING_RATE),
                      "first_stage": record}
            (work / "training.json").write_text(json.dumps(record, indent=1))
        state = work / "reader.pt"
    else:
        record = json.loads((Path(state).parent / "training.json").read_text())
    staging = folder.parent / (folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:  # the shipped folder is replaced only by a whole new one; a failed run leaves nothing behind
        tokenizer = copy_tokenizer(model_dir, staging)
        export_reader(Path(state), model_dir, work / "reader.onnx", tokenizer)
        quantize_reader(work / "reader.onnx", staging / MODEL_FILE)
        record = {**record, "model_file": MODEL_FILE,
                  "model_sha256": hashlib.sha256((staging / MODEL_FILE).read_bytes()).hexdigest()}
        manifest = fit_around(staging, data, record, embedder, keep_readings=work / "readings.pkl",
                              fp32_model=work / "reader.onnx")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
