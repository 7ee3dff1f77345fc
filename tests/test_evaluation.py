"""The dev-set figures `python -m rag eval` reports, held to the project's bar."""

import pytest

from rag.evaluation import DEFAULT_QUESTIONS, evaluate, first_gold_rank, fold, format_report, load_questions, mrr_at, recall_at


def test_metric_helpers():
    assert fold("“Nuclear-contaminated\n water”") == '"nuclear-contaminated water"'
    assert recall_at([1, 6, None, 5], 5) == 0.5
    assert mrr_at([1, 2, None, 11], 10) == pytest.approx((1 + 0.5) / 4)


@pytest.mark.skipif(not DEFAULT_QUESTIONS.exists(), reason="the shared dev set is not beside the repo")
def test_dev_set_figures(seed_assistant):
    result = evaluate(seed_assistant, load_questions(DEFAULT_QUESTIONS))
    report = format_report(result)
    assert "| hybrid |" in report and "| facts |" in report
    assert result["retrieval"]["hybrid"]["recall@5"] >= 0.95
    assert result["facts"] >= 0.9
    assert result["grounded"] == 1.0
    assert result["abstain"] >= 5 / 6
    assert result["false_abstain"] == 0.0
