"""The engine's own health metrics, in a registry of the worker's own."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
)

from streams import __version__

PREFIX = "salespulse"

# A `_created` series per counter doubles the exposition and no dashboard or
# rule reads it.
disable_created_metrics()  # type: ignore[no-untyped-call]


class EngineMetrics:
    """Counters of what the worker consumed and rejected, by topic."""

    def __init__(self, app_id: str, registry: CollectorRegistry | None = None):
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
        self.last_consumed = Gauge(
            f"{PREFIX}_event_last_consumed_timestamp_seconds",
            "Wall-clock time at which the worker last consumed a message of the topic.",
            ["topic"],
            registry=self.registry,
        )
        info = Gauge(
            f"{PREFIX}_worker_info",
            "Constant 1, labelled with the worker's version and application id.",
            ["version", "app_id"],
            registry=self.registry,
        )
        info.labels(version=__version__, app_id=app_id).set(1)
