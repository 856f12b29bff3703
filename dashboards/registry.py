"""The registry of what SalesPulse shows and watches: metrics, rules, panels.

Everything generated under ``deploy/grafana``, ``deploy/prometheus/rules`` and
``docs/metrics.md`` comes from the entries below. An :class:`Entry` is one
thing a person looks at (a panel): the metrics it reads, the recording rules
that precompute it, its unit, how it is displayed, its thresholds and the
alerts that watch it. A :class:`Board` is a dashboard: a uid and its entries
in reading order. A KPI is added by writing its entries and listing them on a
board; nothing else has to change.

Panel queries select workers with ``job=~"$job"`` (the dashboard's ``job``
variable); recording rules and alerts aggregate ``by (job)`` so that several
deployments can share one Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kpis.events import RejectReason

JOB_MATCHER = 'job=~"$job"'
"""The matcher every panel query carries: the dashboard's ``job`` variable."""


class MetricKind(StrEnum):
    """The Prometheus type of an exported metric family."""

    COUNTER = "counter"
    GAUGE = "gauge"


class Display(StrEnum):
    """The Grafana panel type an entry is drawn with."""

    TIMESERIES = "timeseries"
    STAT = "stat"


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
    """A Prometheus alerting rule with the SalesPulse conventions."""

    name: str
    expr: str
    duration: str
    severity: Severity
    summary: str
    description: str

    @property
    def runbook_anchor(self) -> str:
        """Return the anchor of this alert's section in ``docs/runbooks.md``."""
        return self.name.lower()


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
    """One panel with the metrics, rules and alerts behind it."""

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
    recording_rules: tuple[RecordingRule, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True)
class Board:
    """A dashboard: its stable uid, its title and its entries in order."""

    uid: str
    title: str
    description: str
    entries: tuple[Entry, ...]
    tags: tuple[str, ...] = field(default=("salespulse",))

    @property
    def rules_name(self) -> str:
        """Return the stem of the rule file and groups generated for the board."""
        return self.uid

    def metrics(self) -> tuple[Metric, ...]:
        """Return the board's metric families, each once, in order of use."""
        seen: dict[str, Metric] = {}
        for entry in self.entries:
            for metric in entry.metrics:
                seen.setdefault(metric.name, metric)
        return tuple(seen.values())

    def recording_rules(self) -> tuple[RecordingRule, ...]:
        """Return the board's recording rules in evaluation order."""
        return tuple(rule for entry in self.entries for rule in entry.recording_rules)

    def alerts(self) -> tuple[Alert, ...]:
        """Return the board's alerting rules."""
        return tuple(alert for entry in self.entries for alert in entry.alerts)


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
        runbook_base: where ``docs/runbooks.md`` is read; alerts link to its
            anchors. A fork sets its repository's URL of the file here.
    """

    worker_job: str = "salespulse"
    worker_down_for: str = "5m"
    stale_after_minutes: int = 15
    stale_grace: str = "5m"
    reject_share: float = 0.05
    reject_share_for: str = "10m"
    runbook_base: str = "docs/runbooks.md"

    def runbook_url(self, alert: Alert) -> str:
        """Return the link to the runbook section of ``alert``."""
        return f"{self.runbook_base}#{alert.runbook_anchor}"


def panel_selector(metric: str) -> str:
    """Return ``metric`` selected on the dashboard's ``job`` variable."""
    return f"{metric}{{{JOB_MATCHER}}}"


def panel_rate(metric: str) -> str:
    """Return the per-second rate of counter ``metric`` over the panel's step."""
    return f"rate({panel_selector(metric)}[$__rate_interval])"


EVENTS_CONSUMED = Metric(
    name="salespulse_events_consumed_total",
    kind=MetricKind.COUNTER,
    help="Valid events consumed, by input topic and CloudEvents type.",
    labels=("topic", "type"),
    unit="events",
)
EVENTS_REJECTED = Metric(
    name="salespulse_events_rejected_total",
    kind=MetricKind.COUNTER,
    help="Messages sent to the dead-letter topic, by input topic and reason.",
    labels=("topic", "reason"),
    unit="messages",
)
LAST_CONSUMED = Metric(
    name="salespulse_event_last_consumed_timestamp_seconds",
    kind=MetricKind.GAUGE,
    help="Wall-clock time the worker last consumed an event of the topic.",
    labels=("topic",),
    unit="seconds since the Unix epoch",
)
WORKER_INFO = Metric(
    name="salespulse_worker_info",
    kind=MetricKind.GAUGE,
    help="Always 1; its labels name the worker's version and Faust app id.",
    labels=("version", "app_id"),
)
UP = Metric(
    name="up",
    kind=MetricKind.GAUGE,
    help="Set by Prometheus: 1 when the last scrape of the target succeeded.",
    labels=("job", "instance"),
)

REJECT_REASONS = tuple(reason.value for reason in RejectReason)
"""The values of ``reason`` on ``salespulse_events_rejected_total``."""

# A labelled counter has no series until its first increment, so a job that
# never rejected anything would have no rejected rate and no share at all.
# The zero built from the info series (one per running worker) fills the gap.
_ZERO_PER_JOB = f"sum by (job) (0 * {WORKER_INFO.name})"


def _engine_rules() -> tuple[RecordingRule, ...]:
    consumed = "job:salespulse_events_consumed:rate5m"
    rejected = "job:salespulse_events_rejected:rate5m"
    return (
        RecordingRule(
            record="job_type:salespulse_events_consumed:rate5m",
            expr=f"sum by (job, type) (rate({EVENTS_CONSUMED.name}[5m]))",
            meaning="Valid events consumed per second, by CloudEvents type.",
        ),
        RecordingRule(
            record=consumed,
            expr=f"sum by (job) (rate({EVENTS_CONSUMED.name}[5m]))\n"
            f"or\n{_ZERO_PER_JOB}",
            meaning="Valid events consumed per second, all types together.",
        ),
        RecordingRule(
            record="job_reason:salespulse_events_rejected:rate5m",
            expr=f"sum by (job, reason) (rate({EVENTS_REJECTED.name}[5m]))",
            meaning="Messages rejected per second, by reason.",
        ),
        RecordingRule(
            record=rejected,
            expr=f"sum by (job) (rate({EVENTS_REJECTED.name}[5m]))\n"
            f"or\n{_ZERO_PER_JOB}",
            meaning="Messages rejected per second, all reasons together.",
        ),
        RecordingRule(
            record="job:salespulse_events_rejected:ratio_rate5m",
            expr=f"{rejected}\n/\n(({rejected} + {consumed}) > 0)",
            meaning="Share of the messages received that were rejected, from "
            "the summed rates; absent while a job receives nothing.",
        ),
    )


def _worker_down(settings: RuleSettings) -> Alert:
    return Alert(
        name="SalesPulseWorkerDown",
        expr=f'up{{job="{settings.worker_job}"}} == 0',
        duration=settings.worker_down_for,
        severity=Severity.CRITICAL,
        summary="SalesPulse worker {{ $labels.instance }} is down.",
        description="Prometheus has failed to scrape {{ $labels.instance }} of "
        "job {{ $labels.job }} for "
        f"{settings.worker_down_for}: its partitions are not processed, or "
        "their KPIs are not exported.",
    )


def _no_events(settings: RuleSettings) -> Alert:
    seconds = settings.stale_after_minutes * 60
    last = f"max by (job) ({LAST_CONSUMED.name})"
    return Alert(
        name="SalesPulseNoEvents",
        # The second term covers workers that have consumed nothing since
        # they started: the gauge has no series until the first event.
        expr=f"(time() - {last}) > {seconds}\n"
        f"or on (job)\n(max by (job) ({WORKER_INFO.name}) unless on (job) {last})",
        duration=settings.stale_grace,
        severity=Severity.WARNING,
        summary="SalesPulse job {{ $labels.job }} consumes no events.",
        description="No worker of job {{ $labels.job }} has consumed an event "
        f"for more than {settings.stale_after_minutes} minutes, or none since "
        "it started: every KPI on the dashboards is stale.",
    )


def _rejects_spiking(settings: RuleSettings) -> Alert:
    percent = f"{settings.reject_share * 100:g}%"
    return Alert(
        name="SalesPulseRejectsSpiking",
        expr=f"job:salespulse_events_rejected:ratio_rate5m > {settings.reject_share}",
        duration=settings.reject_share_for,
        severity=Severity.WARNING,
        summary="SalesPulse job {{ $labels.job }} rejects "
        "{{ $value | humanizePercentage }} of its messages.",
        description="Over the last 5 minutes more than "
        f"{percent} of the messages on the input topics of job "
        "{{ $labels.job }} went to the dead-letter topic; the KPIs miss "
        "those events.",
    )


def engine_health(settings: RuleSettings | None = None) -> Board:
    """Return the engine-health dashboard: is the engine up and fed."""
    settings = settings or RuleSettings()
    stale = float(settings.stale_after_minutes * 60)
    return Board(
        uid="salespulse-engine",
        title="SalesPulse / Engine health",
        description="Are the SalesPulse workers up, consuming events, and "
        "rejecting few of them?",
        entries=(
            Entry(
                key="workers_up",
                title="Workers up",
                description="Workers whose last scrape succeeded, out of the "
                "scraped targets of the selected jobs: sum(up) and count(up).",
                queries=(
                    Query(f"sum({panel_selector('up')})", "up"),
                    Query(f"count({panel_selector('up')})", "targets"),
                ),
                unit="none",
                display=Display.STAT,
                width=6,
                height=5,
                thresholds=(Threshold(None, "red"), Threshold(1, "green")),
                metrics=(UP, WORKER_INFO),
                alerts=(_worker_down(settings),),
            ),
            Entry(
                key="reject_share",
                title="Reject share",
                description="Share of the messages received that went to the "
                "dead-letter topic: the rejected rate divided by the rejected "
                "plus consumed rates, each summed over all workers first. "
                "Empty while nothing is received.",
                queries=(Query(_reject_share_query(), "rejected"),),
                unit="percentunit",
                display=Display.STAT,
                width=6,
                height=5,
                thresholds=(
                    Threshold(None, "green"),
                    Threshold(settings.reject_share / 5, "orange"),
                    Threshold(settings.reject_share, "red"),
                ),
                minimum=0,
                maximum=1,
                recording_rules=_engine_rules(),
                alerts=(_rejects_spiking(settings),),
            ),
            Entry(
                key="seconds_since_last_event",
                title="Seconds since the last event, by topic",
                description="Time since any selected worker last consumed an "
                "event of each input topic: now minus the latest "
                f"{LAST_CONSUMED.name} across workers. Red from "
                f"{settings.stale_after_minutes} minutes, when the data is "
                "stale.",
                queries=(
                    Query(
                        "time() - max by (topic) "
                        f"({panel_selector(LAST_CONSUMED.name)})",
                        "{{topic}}",
                    ),
                ),
                unit="s",
                display=Display.STAT,
                width=12,
                height=5,
                thresholds=(
                    Threshold(None, "green"),
                    Threshold(stale / 3, "orange"),
                    Threshold(stale, "red"),
                ),
                minimum=0,
                metrics=(LAST_CONSUMED,),
                alerts=(_no_events(settings),),
            ),
            Entry(
                key="events_consumed",
                title="Events consumed per second, by type",
                description="Valid events consumed per second by the selected "
                "workers, by CloudEvents type: the rate of "
                f"{EVENTS_CONSUMED.name} over the rate interval, summed over "
                "workers and topics.",
                queries=(
                    Query(
                        f"sum by (type) ({panel_rate(EVENTS_CONSUMED.name)})",
                        "{{type}}",
                    ),
                ),
                unit="ops",
                display=Display.TIMESERIES,
                width=12,
                height=9,
                minimum=0,
                metrics=(EVENTS_CONSUMED,),
            ),
            Entry(
                key="events_rejected",
                title="Messages rejected per second, by reason",
                description="Messages sent to the dead-letter topic per second "
                "by the selected workers, by reason: the rate of "
                f"{EVENTS_REJECTED.name} over the rate interval, summed over "
                "workers and topics.",
                queries=(
                    Query(
                        f"sum by (reason) ({panel_rate(EVENTS_REJECTED.name)})",
                        "{{reason}}",
                    ),
                ),
                unit="ops",
                display=Display.TIMESERIES,
                width=12,
                height=9,
                minimum=0,
                metrics=(EVENTS_REJECTED,),
            ),
        ),
    )


def _reject_share_query() -> str:
    rejected = f"(sum({panel_rate(EVENTS_REJECTED.name)}) or vector(0))"
    consumed = f"(sum({panel_rate(EVENTS_CONSUMED.name)}) or vector(0))"
    return f"{rejected} / (({rejected} + {consumed}) > 0)"


def boards(settings: RuleSettings | None = None) -> tuple[Board, ...]:
    """Return every dashboard SalesPulse ships, in menu order."""
    return (engine_health(settings),)
