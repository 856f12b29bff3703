"""The registry of what SalesPulse shows and watches: KPIs, rules, dashboards.

Everything generated under ``deploy/grafana``, ``deploy/prometheus/rules`` and
``docs/metrics.md`` comes from here. A :class:`~dashboards.model.Kpi` names
the metrics a KPI is computed from, its recording rules (named
``level:metric:operations``) and its alerts; an
:class:`~dashboards.model.Entry` is a panel (queries, unit, display,
thresholds); a :class:`~dashboards.model.Board` is a dashboard with a stable
uid. Adding a KPI is one ``Kpi`` (in :mod:`dashboards.sales`,
:mod:`dashboards.deals`, :mod:`dashboards.saas` or :mod:`dashboards.engine`)
listed in :func:`kpis`, and its panels on a board.

Panel queries select workers with ``job=~"$job"`` (the dashboard's ``job``
variable); recording rules and alerts aggregate ``by (job)`` so that several
deployments can share one Prometheus.
"""

from __future__ import annotations

from dashboards import deals, saas, sales
from dashboards.drilldown import (
    marketing_board,
    pipeline_board,
    products_board,
    reps_board,
    saas_board,
)
from dashboards.engine import engine_board, engine_kpis
from dashboards.model import (
    Alert,
    Board,
    Display,
    Entry,
    Kpi,
    Metric,
    MetricKind,
    Query,
    RecordingRule,
    RuleSettings,
    Severity,
    Threshold,
)
from dashboards.promql import JOB_MATCHER, panel_rate, panel_selector
from dashboards.wall import WALL_ROWS, wall

__all__ = [
    "JOB_MATCHER",
    "WALL_ROWS",
    "Alert",
    "Board",
    "Display",
    "Entry",
    "Kpi",
    "Metric",
    "MetricKind",
    "Query",
    "RecordingRule",
    "RuleSettings",
    "Severity",
    "Threshold",
    "alerts",
    "boards",
    "kpis",
    "metrics",
    "panel_rate",
    "panel_selector",
    "rule_files",
]


def kpis(settings: RuleSettings | None = None) -> tuple[Kpi, ...]:
    """Return every KPI in evaluation order: a rule reads only earlier ones."""
    settings = settings or RuleSettings()
    return (
        sales.revenue(settings),
        sales.growth(),
        sales.forecast(settings),
        sales.pipeline(),
        deals.margin(),
        deals.conversion(),
        deals.deal_timing(),
        deals.sales_per_rep(),
        deals.product_mix(),
        deals.activities(),
        saas.mrr(),
        saas.churn(settings),
        saas.unit_economics(),
        saas.marketing(),
        *engine_kpis(settings),
    )


def boards(settings: RuleSettings | None = None) -> tuple[Board, ...]:
    """Return every dashboard SalesPulse ships, in menu order."""
    settings = settings or RuleSettings()
    return (
        wall(settings),
        pipeline_board(settings),
        reps_board(settings),
        products_board(),
        saas_board(),
        marketing_board(),
        engine_board(settings),
    )


def rule_files(settings: RuleSettings | None = None) -> dict[str, tuple[Kpi, ...]]:
    """Return the KPIs of each rule file, by the file's stem, in order."""
    files: dict[str, list[Kpi]] = {}
    for kpi in kpis(settings):
        files.setdefault(kpi.rule_file, []).append(kpi)
    return {stem: tuple(members) for stem, members in files.items()}


def alerts(settings: RuleSettings | None = None) -> tuple[Alert, ...]:
    """Return every alerting rule, in the order of the rule files."""
    return tuple(alert for kpi in kpis(settings) for alert in kpi.alerts)


def metrics(settings: RuleSettings | None = None) -> tuple[Metric, ...]:
    """Return every metric family the rules and panels read, each once."""
    seen: dict[str, Metric] = {}
    for kpi in kpis(settings):
        for metric in kpi.metrics:
            seen.setdefault(metric.name, metric)
    for board in boards(settings):
        for metric in board.metrics():
            seen.setdefault(metric.name, metric)
    return tuple(seen.values())
