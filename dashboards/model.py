"""The values the registry is made of: metrics, rules, alerts, panels, boards.

A :class:`Kpi` names the metrics a KPI is computed from, its recording rules
and its alerts; a :class:`Entry` is one panel (its queries, unit, display and
thresholds); a :class:`Board` is a dashboard. :class:`RuleSettings` holds the
tunable parts of the rules (thresholds and ``for:`` durations), so that tests
can shorten them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MetricKind(StrEnum):
    """The Prometheus type of an exported metric family."""

    COUNTER = "counter"
    GAUGE = "gauge"


class Display(StrEnum):
    """The Grafana panel type an entry is drawn with."""

    TIMESERIES = "timeseries"
    STAT = "stat"
    GAUGE = "gauge"
    BAR_GAUGE = "bargauge"


class Severity(StrEnum):
    """How urgently an alert needs a person: routes in Alertmanager use it."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Metric:
    """A metric family the engine exports, as documented in the catalogue."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""


@dataclass(frozen=True)
class RecordingRule:
    """A Prometheus recording rule named ``level:metric:operations``."""

    record: str
    expr: str
    meaning: str


@dataclass(frozen=True)
class Alert:
    """A Prometheus alerting rule with the SalesPulse conventions.

    Several rules may share a name (one per scope of the same condition);
    ``labels`` tells them apart and ``severity`` may differ between them.
    """

    name: str
    expr: str
    duration: str
    severity: Severity
    summary: str
    description: str
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def runbook_anchor(self) -> str:
        """Return the anchor of this alert's section in ``docs/runbooks.md``."""
        return self.name.lower()


@dataclass(frozen=True)
class Kpi:
    """A KPI: the metrics it reads, the rules that record it, its alerts.

    Attributes:
        key: a unique identifier.
        title: what a person calls it.
        rule_file: the stem of the rule file its rules are written to; the
            rules of one file are evaluated in order, so a rule may read any
            record of an earlier KPI of the same file.
        metrics: the exported families it is computed from.
        recording_rules: its rules, in evaluation order.
        alerts: the alerting rules that watch it.
    """

    key: str
    title: str
    rule_file: str
    metrics: tuple[Metric, ...] = ()
    recording_rules: tuple[RecordingRule, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True)
class Threshold:
    """A step of a panel's thresholds: from ``value`` upwards, ``color``."""

    value: float | None
    color: str


@dataclass(frozen=True)
class Query:
    """A PromQL query of a panel and the legend of the series it returns."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Entry:
    """One panel: what it reads, how it is drawn, and where.

    Panels are placed left to right in the order of their board, a new row
    starting when the next one does not fit in the 24 columns.
    """

    key: str
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str
    display: Display
    width: int
    height: int
    thresholds: tuple[Threshold, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class Board:
    """A dashboard: its stable uid, its title and its entries in order."""

    uid: str
    title: str
    description: str
    entries: tuple[Entry, ...]
    tags: tuple[str, ...] = field(default=("salespulse",))
    refresh: str = "30s"
    time_from: str = "now-6h"

    def metrics(self) -> tuple[Metric, ...]:
        """Return the board's metric families, each once, in order of use."""
        seen: dict[str, Metric] = {}
        for entry in self.entries:
            for metric in entry.metrics:
                seen.setdefault(metric.name, metric)
        return tuple(seen.values())


@dataclass(frozen=True)
class RuleSettings:
    """The tunable parts of the generated rules.

    Args:
        worker_job: the ``job`` label Prometheus gives the workers' scrape
            target; ``up`` is only known by it.
        worker_down_for: how long a target must fail scrapes before paging.
        stale_after_minutes: how long without any consumed event the data is
            stale.
        stale_grace: how long a condition must hold before the stale-data
            alert fires; it lets a restarted worker consume its first event.
        reject_share: the share of rejected messages, 0 to 1, that is a spike.
        reject_share_for: how long the share must stay above it.
        lag_messages: the consumer lag, summed over partitions, below which a
            growing lag is not worth an alert.
        lag_growth_window: the range over which the lag's trend is taken.
        lag_for: how long the lag must keep growing.
        quota_attainment: the projected attainment below which the quota is
            slipping.
        quota_elapsed: the share of the month that must have passed first.
        quota_for: how long the projection must stay below the threshold.
        churn_ratio: the logo churn of the month to date that is too high.
        churn_factor: how many times its usual level the month's projected
            churn may reach before it is well above it.
        churn_for: how long either condition must hold.
        coverage_ratio: the weighted pipeline closing in the month over the
            target still to win, below which the month cannot be made.
        coverage_for: how long the coverage must stay below it.
        runbook_base: where ``docs/runbooks.md`` is read; alerts link to its
            anchors. A fork sets its repository's URL of the file here.
    """

    worker_job: str = "salespulse"
    worker_down_for: str = "5m"
    stale_after_minutes: int = 15
    stale_grace: str = "5m"
    reject_share: float = 0.05
    reject_share_for: str = "10m"
    lag_messages: int = 1000
    lag_growth_window: str = "10m"
    lag_for: str = "15m"
    quota_attainment: float = 0.9
    quota_elapsed: float = 0.25
    quota_for: str = "1h"
    churn_ratio: float = 0.05
    churn_factor: float = 2.0
    churn_for: str = "1h"
    coverage_ratio: float = 1.0
    coverage_for: str = "2h"
    runbook_base: str = "docs/runbooks.md"

    def runbook_url(self, alert: Alert) -> str:
        """Return the link to the runbook section of ``alert``."""
        return f"{self.runbook_base}#{alert.runbook_anchor}"
