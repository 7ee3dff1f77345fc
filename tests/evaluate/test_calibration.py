"""Calibration measures against hand-computed values, and the reliability diagram as a real PNG."""

import pytest

import random

from rag.evaluate.calibration import calibration_error, plot_reliability, reliability_bins, separation_auc


def test_expected_calibration_error_by_hand():
    # bin [0.2, 0.3): confidences 0.2, 0.2 with one right -> |0.5 - 0.2| = 0.3, weight 2/4
    # bin [0.9, 1.0]: 0.9 and 1.0, both right -> |1.0 - 0.95| = 0.05, weight 2/4
    pairs = [(0.2, True), (0.2, False), (0.9, True), (1.0, True)]
    assert calibration_error(pairs) == pytest.approx(0.5 * 0.3 + 0.5 * 0.05)
    bins = reliability_bins(pairs)
    assert len(bins) == 10 and bins[9].count == 2 and bins[2].count == 2 and sum(b.count for b in bins) == 4
    assert calibration_error([]) == 0.0
    assert calibration_error([(0.75, True)] * 3 + [(0.75, False)]) == pytest.approx(0.0)


def brute_force_auc(scored):
    """Every (positive, negative) pair compared: 1 when the positive scores higher, 0.5 on a tie."""
    positives = [s for s, y in scored if y]
    negatives = [s for s, y in scored if not y]
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / len(pairs)


def test_separation_auc_by_hand_and_against_every_pair():
    assert separation_auc([(0.9, True), (0.8, True), (0.2, False)]) == 1.0
    assert separation_auc([(0.1, True), (0.8, False)]) == 0.0  # pointing the wrong way
    assert separation_auc([(0.5, True), (0.5, False)]) == 0.5  # a tie counts half
    assert separation_auc([(0.9, True), (0.3, True), (0.5, False)]) == 0.5
    assert separation_auc([(0.4, True)]) == 0.5 and separation_auc([]) == 0.5  # one class only: no separation
    rng = random.Random(7)
    for _ in range(200):  # coarse scores, so that ties across and within classes are common
        scored = [(rng.randint(0, 6) / 6, rng.random() < 0.4) for _ in range(rng.randint(2, 40))]
        if any(y for _, y in scored) and not all(y for _, y in scored):
            assert separation_auc(scored) == pytest.approx(brute_force_auc(scored))


def test_the_reliability_diagram_is_drawn(tmp_path):
    path = tmp_path / "calibration.png"
    plot_reliability({"set": [(0.1, False), (0.5, True), (0.9, True)]}, path, threshold=0.3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
