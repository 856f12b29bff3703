"""Throughput: one worker draining a pre-filled topic set, end to end.

Each run starts a worker with a consumer group and changelog of its own on the
same topics, and times it from its first folded event to its last (read from
its /metrics). Its resident memory once drained is kept for the memory figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness import Figure, Stack, drain_seconds

TARGET_EVENTS_PER_SECOND = 50_000.0


@dataclass(frozen=True)
class Drained:
    """The figures of the worker's runs."""

    rates: tuple[float, ...]
    rss_mib: tuple[float, ...]

    def figures(self) -> list[Figure]:
        """Return the throughput figure."""
        return [
            Figure(
                "worker, events/s end to end",
                self.rates,
                "events/s",
                TARGET_EVENTS_PER_SECOND,
            )
        ]


def drain(stack: Stack, prefix: str, events: int, runs: int) -> Drained:
    """Time ``runs`` fresh workers draining the ``events`` events of ``prefix``."""
    rates, memory = [], []
    for run in range(runs):
        name = f"{prefix}-worker-{run}"
        settings = stack.with_topics(stack.settings(name), prefix)
        worker = stack.start_worker(settings, name)
        try:
            rates.append(events / drain_seconds(worker, events))
            memory.append(worker.rss_bytes() / 2**20)
        finally:
            worker.stop()
    return Drained(tuple(rates), tuple(memory))
