"""The fitted models applied with numpy: checked against scikit-learn itself, and saved/loaded as plain data."""

import json

import numpy as np
import pytest

from rag.answer.scoring import LogisticModel, Scorer, ScorerError, load_scorer, scorer_to_json


def test_numpy_probabilities_equal_scikit_learns_on_the_same_fit():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from rag.train.fitting import fit_logistic

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)) * [1, 5, 0.1, 3] + [0, 2, 1, -1]
    y = x[:, 0] + 0.3 * (x[:, 1] - 2) - 8 * (x[:, 2] - 1) + rng.normal(size=300) > 0
    model = fit_logistic(x, y, ("a", "b", "c", "d"))
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(max_iter=5000).fit(scaler.transform(x), y)
    expected = reference.predict_proba(scaler.transform(x))[:, 1]
    assert np.allclose(model.probabilities(x), expected, atol=1e-9)


def test_a_logistic_model_is_plain_data():
    model = LogisticModel(("a", "b"), (1.0, 2.0), (2.0, 4.0), (1.5, -0.5), 0.25)
    again = LogisticModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    z = ((3.0 - 1.0) / 2.0) * 1.5 + ((2.0 - 2.0) / 4.0) * -0.5 + 0.25
    assert model.probabilities(np.array([[3.0, 2.0]]))[0] == pytest.approx(1 / (1 + np.exp(-z)))
    with pytest.raises(ScorerError):
        LogisticModel.from_dict({**model.to_dict(), "coef": [1.0]})
    assert model.probabilities_in(np.array([[9.0, 3.0, 2.0]]), ["c", "a", "b"])[0] == pytest.approx(1 / (1 + np.exp(-z)))
    with pytest.raises(ScorerError, match="refit"):
        model.probabilities_in(np.zeros((1, 2)), ["a", "c"])


def test_the_shipped_parameters_load_and_hold_a_fit_without_each_group():
    scorer = load_scorer()
    assert 0.0 < scorer.min_confidence < 1.0
    assert scorer.fitted_on and set(scorer.held_out) == set(scorer.fitted_on)
    for group in scorer.fitted_on:
        held_out = scorer.without(group)
        assert held_out is not scorer and not held_out.held_out
    assert scorer.without("news:some-other-set") is scorer
    assert Scorer.from_dict(json.loads(scorer_to_json(scorer))) == Scorer.from_dict(scorer.to_dict())


def test_a_parameter_file_of_another_version_is_refused(tmp_path):
    data = load_scorer().to_dict()
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**data, "version": 0}))
    with pytest.raises(ScorerError, match="refit"):
        load_scorer(path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ScorerError):
        load_scorer(tmp_path / "broken.json")
