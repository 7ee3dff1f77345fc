"""Calibration measures against hand-computed values, and the reliability diagram as a real PNG."""

import pytest

from rag.calibration import calibration_error, plot_reliability, reliability_bins


def test_expected_calibration_error_by_hand():
    # bin [0.2, 0.3): confidences 0.2, 0.2 with one right -> |0.5 - 0.2| = 0.3, weight 2/4
    # bin [0.9, 1.0]: 0.9 and 1.0, both right -> |1.0 - 0.95| = 0.05, weight 2/4
    pairs = [(0.2, True), (0.2, False), (0.9, True), (1.0, True)]
    assert calibration_error(pairs) == pytest.approx(0.5 * 0.3 + 0.5 * 0.05)
    bins = reliability_bins(pairs)
    assert len(bins) == 10 and bins[9].count == 2 and bins[2].count == 2 and sum(b.count for b in bins) == 4
    assert calibration_error([]) == 0.0
    assert calibration_error([(0.75, True)] * 3 + [(0.75, False)]) == pytest.approx(0.0)


def test_the_reliability_diagram_is_drawn(tmp_path):
    path = tmp_path / "calibration.png"
    plot_reliability({"set": [(0.1, False), (0.5, True), (0.9, True)]}, path, threshold=0.3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
