"""The metric families the rules and panels read, as the catalogue lists them.

The KPI families come from :mod:`kpis.exposition`, the engine's own from
``streams/metrics.py`` (restated here: ``dashboards`` does not import the Faust
app), and ``up`` from Prometheus.
"""

from __future__ import annotations

from dashboards.model import Metric, MetricKind
from kpis import exposition

_KPI_FAMILIES = {spec.name: spec for spec in exposition.CATALOGUE}


def kpi(name: str) -> Metric:
    """Return the gauge family ``salespulse_<name>`` of the KPI exposition.

    Raises:
        KeyError: the exposition has no such family.
    """
    spec = _KPI_FAMILIES[f"{exposition.PREFIX}{name}"]
    return Metric(spec.name, MetricKind.GAUGE, spec.help, spec.labels)


def _counter(name: str, help: str, labels: tuple[str, ...], unit: str) -> Metric:
    return Metric(f"salespulse_{name}_total", MetricKind.COUNTER, help, labels, unit)


def _gauge(name: str, help: str, labels: tuple[str, ...], unit: str = "") -> Metric:
    return Metric(f"salespulse_{name}", MetricKind.GAUGE, help, labels, unit)


EVENTS_CONSUMED = _counter(
    "events_consumed",
    "Valid events consumed, by input topic and CloudEvents type.",
    ("topic", "type"),
    "events",
)
EVENTS_REJECTED = _counter(
    "events_rejected",
    "Messages sent to the dead-letter topic, by input topic and reason.",
    ("topic", "reason"),
    "messages",
)
EVENTS_LATE = _counter(
    "events_late",
    "Events folded into a month that had already ended when they arrived.",
    ("topic",),
    "events",
)
EVENTS_FORWARDED = _counter(
    "events_forwarded",
    "Events forwarded through the repartition topic to their entity's partition.",
    ("topic",),
    "events",
)
BATCHES = _counter(
    "batches", "Batches folded, written to the changelog and committed.", (), "batches"
)
LAST_CONSUMED = _gauge(
    "event_last_consumed_timestamp_seconds",
    "Wall-clock time the worker last folded an event of the topic.",
    ("topic",),
    "seconds since the Unix epoch",
)
NEWEST_EVENT = _gauge(
    "event_newest_timestamp_seconds",
    "Business time (CloudEvents time) of the newest event folded, by topic.",
    ("topic",),
    "seconds since the Unix epoch",
)
CONSUMER_LAG = _gauge(
    "consumer_lag_messages",
    "Messages in the partition not yet consumed by this worker.",
    ("topic", "partition"),
    "messages",
)
PARTITION_OWNED = _gauge(
    "partition_owned",
    "1 for each partition whose entities this worker owns and exports.",
    ("partition",),
)
RECOVERY_RECORDS = _gauge(
    "recovery_records",
    "Records in the changelog partition being restored.",
    ("partition",),
    "records",
)
RECOVERY_POSITION = _gauge(
    "recovery_position_records",
    "Changelog records read so far while restoring the partition.",
    ("partition",),
    "records",
)
WORKER_INFO = _gauge(
    "worker_info",
    "Always 1; its labels name the worker's version and Faust app id.",
    ("version", "app_id"),
)
UP = Metric(
    name="up",
    kind=MetricKind.GAUGE,
    help="Set by Prometheus: 1 when the last scrape of the target succeeded.",
    labels=("job", "instance"),
)
