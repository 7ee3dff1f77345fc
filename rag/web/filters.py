"""Search filters of the chat: which articles, published when; and the error a caller has to fix."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from rag.types import Article

FROM_LABEL, UNTIL_LABEL = "Published from", "Published until"
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class BadRequest(ValueError):
    """Input the caller has to fix; its message is safe to show to them."""


class BadDate(BadRequest):
    """A date field that cannot be read, or a range that ends before it starts; `field` names the field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def parse_day(value: Any, label: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])  # the picker may append a time
    except ValueError:
        raise BadDate(f"'{label}' must be a date like 2024-05-24", label) from None


def article_period(article: Article) -> tuple[date, date] | None:
    """The days an article's date covers: "2017-07" is all of July 2017 (sources give months or years too)."""
    match = PARTIAL_DATE.match(article.date.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if day is not None:
            return date(year, month, day), date(year, month, day)
        if month is not None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 1, 1), date(year, 12, 31)
    except (ValueError, calendar.IllegalMonthError):  # "2024-13-45"
        return None


def overlaps(period: tuple[date, date] | None, start: date | None, end: date | None) -> bool:
    return period is not None and (start is None or period[1] >= start) and (end is None or period[0] <= end)


def date_range(date_from: Any, date_to: Any) -> tuple[date | None, date | None]:
    """Both date fields read and checked; raises BadDate naming the field to fix."""
    start, end = parse_day(date_from, FROM_LABEL), parse_day(date_to, UNTIL_LABEL)
    if start and end and start > end:
        raise BadDate(f"'{FROM_LABEL}' is after '{UNTIL_LABEL}'", FROM_LABEL)
    return start, end


def filter_doc_ids(
    articles: Mapping[str, Article], selected: Iterable[str] | None, date_from: Any = None, date_to: Any = None
) -> set[str] | None:
    """The doc ids the filters allow, or None when nothing is filtered. Undated articles fail any date range."""
    start, end = date_range(date_from, date_to)
    chosen = set(selected or ()) & set(articles) if selected else None
    if start is None and end is None:
        return chosen
    pool = set(articles) if chosen is None else chosen
    return {d for d in pool if overlaps(article_period(articles[d]), start, end)}


@dataclass(frozen=True)
class Filters:
    """The filters a question was asked with, as a person reads them back."""

    titles: tuple[str, ...] = ()  # the chosen articles; empty means all
    start: date | None = None
    end: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.titles or self.start or self.end)

    def describe(self) -> str:
        """'only “A”, published from 2020-01-01 until 2021-12-31', or '' when nothing is filtered."""
        parts = []
        if self.titles:
            quoted = "; ".join(f"“{t}”" for t in self.titles)
            parts.append(f"only {quoted}" if len(self.titles) == 1 else f"only {len(self.titles)} articles ({quoted})")
        if self.start or self.end:
            span = " ".join(
                x for x in (f"from {self.start}" if self.start else "", f"until {self.end}" if self.end else "") if x
            )
            parts.append(f"published {span}")
        return ", ".join(parts)


def read_filters(articles: Mapping[str, Article], selected: Iterable[str] | None, date_from: Any, date_to: Any) -> Filters:
    start, end = date_range(date_from, date_to)
    titles = tuple(articles[d].title for d in sorted(set(selected or ()) & set(articles)))
    return Filters(titles, start, end)


def corpus_period(articles: Mapping[str, Article]) -> tuple[date, date] | None:
    """From the first day to the last day any dated article covers."""
    periods = [p for p in map(article_period, articles.values()) if p]
    if not periods:
        return None
    return min(p[0] for p in periods), max(p[1] for p in periods)


def date_summary(articles: Mapping[str, Article]) -> str:
    period = corpus_period(articles)
    if period is None:
        return "No article has a known date."
    dated = sum(1 for a in articles.values() if article_period(a))
    return (
        f"Dates known for {dated} of {len(articles)} articles ({period[0]} to {period[1]}); "
        "undated articles are left out when a range is set."
    )
