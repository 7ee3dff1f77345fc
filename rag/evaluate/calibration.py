"""Calibration of the confidence: expected calibration error and the reliability diagram (matplotlib, on demand)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

BINS = 10


@dataclass(frozen=True)
class Bin:
    """One equal-width confidence bin: how many predictions fell in it, their mean confidence and accuracy."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


def reliability_bins(pairs: Sequence[tuple[float, bool]], bins: int = BINS) -> list[Bin]:
    """(confidence, right) pairs sorted into `bins` equal-width bins over [0, 1] (1.0 falls in the last)."""
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(c, y) for c, y in pairs if low <= c < high or (b == bins - 1 and c >= 1.0)]
        n = len(members)
        out.append(
            Bin(low, high, n, sum(c for c, _ in members) / n if n else 0.0, sum(y for _, y in members) / n if n else 0.0)
        )
    return out


def calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = BINS) -> float:
    """Expected calibration error (Naeini et al. 2015; Guo et al. 2017): the bins' |accuracy - confidence|,
    weighted by the share of predictions in each."""
    if not pairs:
        return 0.0
    return sum(b.count / len(pairs) * abs(b.accuracy - b.confidence) for b in reliability_bins(pairs, bins))


def separation_auc(scored: Sequence[tuple[float, bool]]) -> float:
    """Area under the ROC curve of a score telling positives from negatives, as the Mann-Whitney statistic
    (Hanley & McNeil 1982): the chance that a random positive outscores a random negative, ties counting
    half. 0.5 is no separation; below 0.5 the score points the wrong way. 0.5 when either class is empty."""
    positives = sorted(s for s, y in scored if y)
    negatives = sorted(s for s, y in scored if not y)
    if not positives or not negatives:
        return 0.5
    wins, below, tied_end = 0.0, 0, 0
    for score in positives:  # negatives below `score` and equal to it, by one pass over the sorted negatives
        while below < len(negatives) and negatives[below] < score:
            below += 1
        tied_end = max(tied_end, below)
        while tied_end < len(negatives) and negatives[tied_end] == score:
            tied_end += 1
        wins += below + 0.5 * (tied_end - below)
    return wins / (len(positives) * len(negatives))


def plot_reliability(series: dict[str, Sequence[tuple[float, bool]]], path: Path, threshold: float | None = None) -> None:
    """The reliability diagram: accuracy against mean confidence per bin, one line per series, the
    diagonal of perfect calibration, and the operating point (the abstention threshold) as a vertical line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=120)
    ax.plot([0, 1], [0, 1], color="#888", linestyle="--", linewidth=1, label="perfect calibration")
    for name, pairs in series.items():
        used = [b for b in reliability_bins(pairs) if b.count]
        ax.plot(
            [b.confidence for b in used], [b.accuracy for b in used], marker="o",
            label=f"{name} (n={len(pairs)}, ECE {calibration_error(pairs):.3f})",
        )
    if threshold is not None:
        ax.axvline(threshold, color="#c0392b", linewidth=1, label=f"abstain below {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (mean in each of 10 equal-width bins)")
    ax.set_ylabel("share of answers that are right")
    ax.set_title("Reliability of Answer.confidence (cross-validated)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
