"""The engine's own health: workers up, events in, rejects, lag, recovery."""

from __future__ import annotations

from dashboards.metrics import (
    BATCHES,
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_FORWARDED,
    EVENTS_LATE,
    EVENTS_REJECTED,
    LAST_CONSUMED,
    NEWEST_EVENT,
    PARTITION_OWNED,
    RECOVERY_POSITION,
    RECOVERY_RECORDS,
    UP,
    WORKER_INFO,
)
from dashboards.model import (
    Alert,
    Board,
    Display,
    Entry,
    Kpi,
    Metric,
    Query,
    RecordingRule,
    RuleSettings,
    Severity,
    Threshold,
)
from dashboards.promql import panel_rate, panel_selector

RULE_FILE = "salespulse-engine"
CONSUMED_RATE = "job:salespulse_events_consumed:rate5m"
REJECTED_RATE = "job:salespulse_events_rejected:rate5m"
REJECT_SHARE = "job:salespulse_events_rejected:ratio_rate5m"
LAG = "job:salespulse_consumer_lag_messages:sum"

# A labelled counter has no series until its first increment, so a job that
# never rejected anything would have no rejected rate and no share at all.
# The zero built from the info series (one per running worker) fills the gap.
_ZERO_PER_JOB = f"sum by (job) (0 * {WORKER_INFO.name})"


def _traffic_rules() -> tuple[RecordingRule, ...]:
    return (
        RecordingRule(
            record="job_type:salespulse_events_consumed:rate5m",
            expr=f"sum by (job, type) (rate({EVENTS_CONSUMED.name}[5m]))",
            meaning="Valid events consumed per second, by CloudEvents type.",
        ),
        RecordingRule(
            record=CONSUMED_RATE,
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
            record=REJECTED_RATE,
            expr=f"sum by (job) (rate({EVENTS_REJECTED.name}[5m]))\n"
            f"or\n{_ZERO_PER_JOB}",
            meaning="Messages rejected per second, all reasons together.",
        ),
        RecordingRule(
            record=REJECT_SHARE,
            expr=f"{REJECTED_RATE}\n/\n(({REJECTED_RATE} + {CONSUMED_RATE}) > 0)",
            meaning="Share of the messages received that were rejected, from "
            "the summed rates; absent while a job receives nothing.",
        ),
    )


def _lag_rules() -> tuple[RecordingRule, ...]:
    return (
        RecordingRule(
            record="job_topic:salespulse_consumer_lag_messages:sum",
            expr=f"sum by (job, topic) ({CONSUMER_LAG.name})",
            meaning="Messages not yet consumed, by topic, over all partitions.",
        ),
        RecordingRule(
            record=LAG,
            expr=f"sum by (job) ({CONSUMER_LAG.name})",
            meaning="Messages not yet consumed, over all topics and partitions.",
        ),
        RecordingRule(
            record="job_topic:salespulse_event_freshness:seconds",
            expr=f"time() - max by (job, topic) ({NEWEST_EVENT.name})",
            meaning="How far behind now the newest event folded is, by topic "
            "(business time).",
        ),
        RecordingRule(
            record="job:salespulse_recovery:ratio",
            expr=f"(sum by (job) ({RECOVERY_POSITION.name}) + 1)\n/\n"
            f"(sum by (job) ({RECOVERY_RECORDS.name}) + 1)",
            meaning="Share of the changelog records restored, over the "
            "partitions being restored (one added to both sides, so that "
            "nothing to restore reads as done).",
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
        expr=f"{REJECT_SHARE} > {settings.reject_share}",
        duration=settings.reject_share_for,
        severity=Severity.WARNING,
        summary="SalesPulse job {{ $labels.job }} rejects "
        "{{ $value | humanizePercentage }} of its messages.",
        description="Over the last 5 minutes more than "
        f"{percent} of the messages on the input topics of job "
        "{{ $labels.job }} went to the dead-letter topic; the KPIs miss "
        "those events.",
    )


def _lag_growing(settings: RuleSettings) -> Alert:
    window = settings.lag_growth_window
    return Alert(
        name="SalesPulseConsumerLagGrowing",
        expr=f"{LAG} > {settings.lag_messages}\nand\nderiv({LAG}[{window}]) > 0",
        duration=settings.lag_for,
        severity=Severity.WARNING,
        summary="SalesPulse job {{ $labels.job }} falls behind: "
        "{{ $value | humanize }} messages unconsumed.",
        description="Job {{ $labels.job }} has {{ $value | humanize }} messages "
        f"not yet consumed (more than {settings.lag_messages}) and the lag has "
        f"grown over {window} for {settings.lag_for}: the workers consume "
        "slower than the producers publish, and the KPIs fall behind.",
    )


def engine_kpis(settings: RuleSettings) -> tuple[Kpi, ...]:
    """Return the engine's health signals with their rules and alerts."""
    return (
        Kpi(
            key="engine_traffic",
            title="Events consumed and rejected",
            rule_file=RULE_FILE,
            metrics=(EVENTS_CONSUMED, EVENTS_REJECTED, WORKER_INFO),
            recording_rules=_traffic_rules(),
            alerts=(_rejects_spiking(settings),),
        ),
        Kpi(
            key="engine_liveness",
            title="Workers up and fed",
            rule_file=RULE_FILE,
            metrics=(UP, LAST_CONSUMED, WORKER_INFO),
            alerts=(_worker_down(settings), _no_events(settings)),
        ),
        Kpi(
            key="engine_lag",
            title="Consumer lag, freshness and recovery",
            rule_file=RULE_FILE,
            metrics=(CONSUMER_LAG, NEWEST_EVENT, RECOVERY_RECORDS, RECOVERY_POSITION),
            recording_rules=_lag_rules(),
            alerts=(_lag_growing(settings),),
        ),
    )


def _status_entries(settings: RuleSettings) -> tuple[Entry, ...]:
    stale = float(settings.stale_after_minutes * 60)
    return (
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
            metrics=(EVENTS_REJECTED, EVENTS_CONSUMED),
        ),
        Entry(
            key="seconds_since_last_event",
            title="Seconds since the last event, by topic",
            description="Time since any selected worker last consumed an "
            "event of each input topic: now minus the latest "
            f"{LAST_CONSUMED.name} across workers. Red from "
            f"{settings.stale_after_minutes} minutes, when the data is stale.",
            queries=(
                Query(
                    f"time() - max by (topic) ({panel_selector(LAST_CONSUMED.name)})",
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
        ),
    )


def _rate_entry(key: str, title: str, what: str, counter: Metric, label: str) -> Entry:
    metric = counter.name
    return Entry(
        key=key,
        title=title,
        description=f"{what} per second by the selected workers, by {label}: "
        f"the rate of {metric} over the rate interval, summed over workers.",
        queries=(
            Query(f"sum by ({label}) ({panel_rate(metric)})", f"{{{{{label}}}}}"),
        ),
        unit="ops",
        display=Display.TIMESERIES,
        width=12,
        height=8,
        minimum=0,
        metrics=(counter,),
    )


def _throughput_entries() -> tuple[Entry, ...]:
    return (
        _rate_entry(
            "events_consumed",
            "Events consumed per second, by type",
            "Valid events consumed",
            EVENTS_CONSUMED,
            "type",
        ),
        _rate_entry(
            "events_rejected",
            "Messages rejected per second, by reason",
            "Messages sent to the dead-letter topic",
            EVENTS_REJECTED,
            "reason",
        ),
        _rate_entry(
            "events_late",
            "Late events per second, by topic",
            "Events folded into a month already over when they arrived",
            EVENTS_LATE,
            "topic",
        ),
        _rate_entry(
            "events_forwarded",
            "Events forwarded per second, by topic",
            "Events sent on through the repartition topic",
            EVENTS_FORWARDED,
            "topic",
        ),
    )


def _lag_entries() -> tuple[Entry, ...]:
    return (
        Entry(
            key="consumer_lag",
            title="Consumer lag, by topic",
            description="Messages on the input partitions not yet consumed: "
            f"{CONSUMER_LAG.name} summed over partitions and workers.",
            queries=(
                Query(
                    f"sum by (topic) ({panel_selector(CONSUMER_LAG.name)})",
                    "{{topic}}",
                ),
            ),
            unit="short",
            display=Display.TIMESERIES,
            width=8,
            height=8,
            minimum=0,
            metrics=(CONSUMER_LAG,),
        ),
        Entry(
            key="event_freshness",
            title="Freshness: age of the newest event, by topic",
            description="Now minus the business time of the newest event "
            f"folded ({NEWEST_EVENT.name}, the latest across workers).",
            queries=(
                Query(
                    f"time() - max by (topic) ({panel_selector(NEWEST_EVENT.name)})",
                    "{{topic}}",
                ),
            ),
            unit="s",
            display=Display.TIMESERIES,
            width=8,
            height=8,
            minimum=0,
            metrics=(NEWEST_EVENT,),
        ),
        Entry(
            key="recovery",
            title="Changelog recovery and partitions owned",
            description="Share of the changelog records restored: "
            f"{RECOVERY_POSITION.name} over {RECOVERY_RECORDS.name}, summed "
            "over the partitions being restored, one added to both so that "
            "nothing to restore reads 100 %; and the partitions the workers "
            f"own ({PARTITION_OWNED.name} summed).",
            queries=(
                Query(
                    f"(sum({panel_selector(RECOVERY_POSITION.name)}) + 1) / "
                    f"(sum({panel_selector(RECOVERY_RECORDS.name)}) + 1)",
                    "restored",
                ),
                Query(f"sum({panel_selector(PARTITION_OWNED.name)})", "owned"),
                Query(f"sum({panel_rate(BATCHES.name)})", "batches/s"),
            ),
            unit="short",
            display=Display.STAT,
            width=8,
            height=8,
            minimum=0,
            metrics=(RECOVERY_POSITION, RECOVERY_RECORDS, PARTITION_OWNED, BATCHES),
        ),
    )


def _reject_share_query() -> str:
    rejected = f"(sum({panel_rate(EVENTS_REJECTED.name)}) or vector(0))"
    consumed = f"(sum({panel_rate(EVENTS_CONSUMED.name)}) or vector(0))"
    return f"{rejected} / (({rejected} + {consumed}) > 0)"


def engine_board(settings: RuleSettings) -> Board:
    """Return the engine-health dashboard: is the engine up, fed and current."""
    return Board(
        uid="salespulse-engine",
        title="SalesPulse / Engine health",
        description="Are the SalesPulse workers up, consuming events, keeping "
        "up with the topics, and rejecting few of them?",
        entries=(
            *_status_entries(settings),
            *_throughput_entries(),
            *_lag_entries(),
        ),
        time_from="now-1h",
    )
