"""Search filters (rag/web/filters.py): partial dates, date ranges, chosen articles, their description."""

from __future__ import annotations

from datetime import date

import pytest

from rag.types import Article
from rag.web.filters import BadDate, Filters, article_period, corpus_period, filter_doc_ids, read_filters


def article(day, doc_id="d", title="t"):
    return Article(doc_id, title, "", (), date=day)


def test_partial_dates_cover_their_month_or_year():
    assert article_period(article("2017-07")) == (date(2017, 7, 1), date(2017, 7, 31))
    assert article_period(article("2016-12")) == (date(2016, 12, 1), date(2016, 12, 31))
    assert article_period(article("2018")) == (date(2018, 1, 1), date(2018, 12, 31))
    assert article_period(article("")) is None and article_period(article("2024-13-45")) is None
    july = {"d": article("2017-07")}
    assert filter_doc_ids(july, None, "2017-07-20", "2017-08-10") == {"d"}
    assert filter_doc_ids(july, None, "2017-08-01") == set()


def test_filters_restrict_to_dated_articles_in_range(seed_assistant):
    articles = seed_assistant.articles
    dated = {d for d, a in articles.items() if article_period(a)}
    assert filter_doc_ids(articles, None) is None
    assert filter_doc_ids(articles, ["x", *list(articles)[:1]]) == set(list(articles)[:1])
    assert filter_doc_ids(articles, None, "1900-01-01", "2999-12-31") == dated


@pytest.mark.parametrize(
    "date_from, date_to, field",
    [("2024-13-45", "", "Published from"), ("", "tomorrow", "Published until"), ("2024-02-01", "2024-01-01", "Published from")],
)
def test_bad_dates_name_the_field_to_fix(date_from, date_to, field):
    with pytest.raises(BadDate) as err:
        filter_doc_ids({"d": article("2024")}, None, date_from, date_to)
    assert err.value.field == field and field in str(err.value)


def test_filters_describe_themselves_for_a_notice():
    articles = {"a": article("2020", "a", "Alpha"), "b": article("2021", "b", "Beta")}
    assert not read_filters(articles, None, "", "").active
    both = read_filters(articles, ["b", "zzz"], "2020-01-01", "")
    assert both.active and both.describe() == "only “Beta”, published from 2020-01-01"
    assert Filters(("A", "B"), None, date(2021, 1, 1)).describe() == "only 2 articles (“A”; “B”), published until 2021-01-01"


def test_corpus_period_spans_the_dated_articles():
    articles = {"a": article("2017-07", "a"), "b": article("2024-05-24", "b"), "c": article("", "c")}
    assert corpus_period(articles) == (date(2017, 7, 1), date(2024, 5, 24))
    assert corpus_period({"c": article("", "c")}) is None
