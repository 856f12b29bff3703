"""Shorthands for the entries of the KPI dashboards: queries and thresholds."""

from __future__ import annotations

from dashboards.model import Query, Threshold
from dashboards.promql import panel_selector

MONEY = "short"
"""Money is in the reporting currency, which Grafana cannot know: plain numbers."""

MONTH = "month_to_date"
QUARTER = "quarter_to_date"


def read(record: str, legend: str = "", **matchers: str) -> Query:
    """Return the query of ``record`` on the ``job`` variable and ``matchers``."""
    return Query(panel_selector(record, **matchers), legend)


def month(record: str, legend: str = "") -> Query:
    """Return the query of ``record`` over the month to date."""
    return read(record, legend, window=MONTH)


def attainment_steps(slipping: float) -> tuple[Threshold, ...]:
    """Return red below ``slipping``, orange up to the target, green from it."""
    return (
        Threshold(None, "red"),
        Threshold(slipping, "orange"),
        Threshold(1, "green"),
    )


def rising_is_bad(warning: float, critical: float) -> tuple[Threshold, ...]:
    """Return green, then orange from ``warning`` and red from ``critical``."""
    return (
        Threshold(None, "green"),
        Threshold(warning, "orange"),
        Threshold(critical, "red"),
    )
