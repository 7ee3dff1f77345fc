"""Fitting the answer scorer: the pieces by hand, and a refit that reproduces the shipped parameter file."""

import json

import numpy as np
import pytest

from conftest import DEV_SET, SEEDS, SQUAD
from rag.train.fitting import operating_point
from rag.train.selection import forward_select, macro_mean


def test_forward_selection_adds_what_helps_and_stops():
    # the score rewards columns 2 and 0, in that order, and nothing else
    gains = {2: 0.5, 0: 0.2}
    score = lambda cols: sum(gains.get(c, -0.01) for c in cols)  # noqa: E731
    assert forward_select(["a", "b", "c", "d"], score) == [2, 0]
    assert forward_select(["a", "b", "c", "d"], score, max_features=1) == [2]
    assert macro_mean({"news:1": 1.0, "news:2": 0.0, "squad:x": 1.0}, lambda g: g.split(":")[0]) == pytest.approx(0.75)


def test_the_operating_point_is_the_highest_threshold_within_the_recall_floor():
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.2])
    answerable = np.array([True, True, True, True, True, False, False])
    sets = np.array(["a"] * 7)
    # abstaining below 0.6 drops none of five answerable questions, below 0.7 one of five (20%)
    assert operating_point(confidence, answerable, sets, 0.10) == pytest.approx(0.5)
    assert operating_point(confidence, answerable, sets, 0.20) == pytest.approx(0.6)
    # two sets count the same: at 0.9 set b loses half its answerable questions, set a none -> mean 0.25,
    # although pooled that is only one of six
    two = np.array(["a", "a", "a", "a", "b", "b", "b"])
    answerable2 = np.array([True, True, True, True, True, True, False])
    conf2 = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.1])
    assert operating_point(conf2, answerable2, two, 0.20) == pytest.approx(0.6)
    assert operating_point(conf2, answerable2, two, 0.25) == pytest.approx(0.9)


@pytest.mark.slow
def test_a_refit_reproduces_the_shipped_parameters(tmp_path, embedder):
    from rag.train.fitting import fit_from_files
    from rag.answer.scoring import PARAMETERS_FILE, round_floats

    refit = fit_from_files(
        DEV_SET, SEEDS, [SQUAD / "dev-two-articles.json"], embedder,
        tmp_path,
    )
    shipped = json.loads(PARAMETERS_FILE.read_text(encoding="utf-8"))
    fresh = round_floats(refit.to_dict())
    assert fresh["fitted_on"] == shipped["fitted_on"], "refit with `python -m rag fit` and commit the file"
    assert_close(fresh, shipped)


def assert_close(a, b, path="", tolerance=1e-4):
    """Equal structure, numbers equal within `tolerance` (BLAS may round differently on another CPU)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_close(a[key], b[key], f"{path}/{key}", tolerance)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]", tolerance)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=tolerance), f"{path}: refit gives {a}, the shipped file {b}"
    else:
        assert a == b, path
