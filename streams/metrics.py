"""The engine's own health metrics, in a registry of the worker's own."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
)

from kpis.events import Event
from streams import __version__

PREFIX = "salespulse"

# A `_created` series per counter doubles the exposition and no dashboard or
# rule reads it.
disable_created_metrics()  # type: ignore[no-untyped-call]


class EngineMetrics:
    """What the worker consumed, rejected, forwarded and owns.

    Per-event counts are tallied in plain dictionaries and handed to the
    Prometheus counters once per batch (:meth:`flush`): a labelled counter
    costs a microsecond a call, too much at tens of thousands of events a
    second.
    """

    def __init__(
        self,
        app_id: str,
        registry: CollectorRegistry | None = None,
        topics: Sequence[str] = (),
    ):
        self.registry = registry if registry is not None else CollectorRegistry()
        self.consumed = Counter(
            f"{PREFIX}_events_consumed",
            "Valid events consumed, by input topic and CloudEvents type.",
            ["topic", "type"],
            registry=self.registry,
        )
        self.rejected = Counter(
            f"{PREFIX}_events_rejected",
            "Messages rejected and sent to the dead-letter topic, by input "
            "topic and reason.",
            ["topic", "reason"],
            registry=self.registry,
        )
        self.late = Counter(
            f"{PREFIX}_events_late",
            "Events folded into a month that had already ended when they "
            "arrived (they restate it), by input topic.",
            ["topic"],
            registry=self.registry,
        )
        self.forwarded = Counter(
            f"{PREFIX}_events_forwarded",
            "Events that arrived on a partition other than their entity's and "
            "were forwarded through the repartition topic, by input topic.",
            ["topic"],
            registry=self.registry,
        )
        self.batches = Counter(
            f"{PREFIX}_batches",
            "Batches folded, written to the changelog and committed.",
            registry=self.registry,
        )
        self.last_consumed = Gauge(
            f"{PREFIX}_event_last_consumed_timestamp_seconds",
            "Wall-clock time at which the worker last folded an event of the topic.",
            ["topic"],
            registry=self.registry,
        )
        self.newest_event = Gauge(
            f"{PREFIX}_event_newest_timestamp_seconds",
            "Business time (the CloudEvents time) of the newest event folded, by "
            "topic.",
            ["topic"],
            registry=self.registry,
        )
        self.lag = Gauge(
            f"{PREFIX}_consumer_lag_messages",
            "Messages in the partition not yet consumed by this worker.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.owned = Gauge(
            f"{PREFIX}_partition_owned",
            "1 for each partition whose entities this worker owns and exports.",
            ["partition"],
            registry=self.registry,
        )
        self.recovery_records = Gauge(
            f"{PREFIX}_recovery_records",
            "Records in the changelog partition being restored.",
            ["partition"],
            registry=self.registry,
        )
        self.recovery_position = Gauge(
            f"{PREFIX}_recovery_position_records",
            "Changelog records read so far while restoring the partition.",
            ["partition"],
            registry=self.registry,
        )
        info = Gauge(
            f"{PREFIX}_worker_info",
            "Constant 1, labelled with the worker's version and application id.",
            ["version", "app_id"],
            registry=self.registry,
        )
        info.labels(version=__version__, app_id=app_id).set(1)
        # Counters of rare things start at zero for every input topic, so that
        # a rate of them reads 0, not "no data".
        for topic in topics:
            self.late.labels(topic=topic)
            self.forwarded.labels(topic=topic)
        self._consumed: Tally[tuple[str, str]] = Tally()
        self._late: Tally[str] = Tally()
        self._newest: dict[str, datetime] = {}

    def folded(self, topic: str, event: Event, month_start: datetime) -> None:
        """Tally one folded event (late when it is dated before this month)."""
        self._consumed[topic, event.type] += 1
        newest = self._newest.get(topic)
        if newest is None or event.time > newest:
            self._newest[topic] = event.time
        if event.time < month_start:
            self._late[topic] += 1

    def flush(self, now: float) -> None:
        """Hand the tallies of a batch to the Prometheus metrics."""
        for (topic, event_type), count in self._consumed.items():
            self.consumed.labels(topic=topic, type=event_type).inc(count)
            self.last_consumed.labels(topic=topic).set(now)
        for topic, count in self._late.items():
            self.late.labels(topic=topic).inc(count)
        for topic, newest in self._newest.items():
            self.newest_event.labels(topic=topic).set(newest.timestamp())
        self._consumed.clear()
        self._late.clear()
