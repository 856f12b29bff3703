"""Scrapes: /metrics request time at about 10,000 and 100,000 series.

A company of many reps makes the worker hold many series (about 50 per rep
with activity). For each size, every run starts a fresh worker on the filled
topics and times /metrics requests back to back while it drains them (full
load), then idle once it has drained. The stall is the drain rate with
scrapes back to back against the rate of a drain read once a second.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import dataclass

from bench.harness import (
    Figure,
    Stack,
    drain_seconds,
    percentile,
    prepare,
    read_messages,
    series_count,
    simulated,
)
from deploy.engine import Worker

TARGET_P99_MS = 50.0
IDLE_SCRAPES = 200


@dataclass(frozen=True)
class Size:
    """A company that makes about ``series`` series, and its simulated days."""

    series: str
    reps: int
    days: int


SIZES = (Size("10k", 200, 45), Size("100k", 2_000, 5))


def timed_scrape(url: str) -> float:
    """Return the milliseconds one /metrics request takes."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as reply:
        reply.read()
    return (time.perf_counter() - began) * 1000


class Scraper(threading.Thread):
    """Scrape back to back until told to stop; keep every request's time."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.times: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        """Scrape until :attr:`done` is set."""
        while not self.done.is_set():
            self.times.append(timed_scrape(self.url))


def _start(stack: Stack, prefix: str, name: str) -> Worker:
    return stack.start_worker(stack.with_topics(stack.settings(name), prefix), name)


def one_run(stack: Stack, prefix: str, events: int, run: int) -> dict[str, float]:
    """Return one run's scrape times, series and drain rates."""
    worker = _start(stack, prefix, f"{prefix}-loaded-{run}")
    scraper = Scraper(worker.metrics_url)
    scraper.start()
    loaded_rate = events / drain_seconds(worker, events)
    scraper.done.set()
    scraper.join()
    idle = [timed_scrape(worker.metrics_url) for _ in range(IDLE_SCRAPES)]
    series = series_count(worker.metrics_url)
    worker.stop()

    quiet = _start(stack, prefix, f"{prefix}-quiet-{run}")
    quiet_rate = events / drain_seconds(quiet, events, poll=1.0)
    quiet.stop()
    return {
        "series": series,
        "idle_p50": percentile(idle, 0.5),
        "idle_p99": percentile(idle, 0.99),
        "load_p50": percentile(scraper.times, 0.5),
        "load_p99": percentile(scraper.times, 0.99),
        "stall": 100 * (1 - loaded_rate / quiet_rate),
    }


def measure(stack: Stack, events: int, runs: int) -> list[Figure]:
    """Return the scrape figures of each size."""
    figures = []
    for size in SIZES:
        count = min(events, size.reps * 12 * size.days)
        messages = read_messages(simulated(size.reps, count, size.days))
        prefix = f"series-{size.series}"
        print(
            f"scrapes, about {size.series} series: {size.reps} reps, {count:,} events"
        )
        prepare(stack, prefix, size.reps, messages)
        results = [one_run(stack, prefix, len(messages), run) for run in range(runs)]

        def values(key: str) -> tuple[float, ...]:
            return tuple(result[key] for result in results)  # noqa: B023

        target = TARGET_P99_MS if size.series == "10k" else None
        figures += [
            Figure(f"series on /metrics ({size.series})", values("series"), "series"),
            Figure(f"/metrics idle p50 ({size.series})", values("idle_p50"), "ms"),
            Figure(
                f"/metrics idle p99 ({size.series})",
                values("idle_p99"),
                "ms",
                target,
                higher_is_better=False,
            ),
            Figure(
                f"/metrics under load p50 ({size.series})", values("load_p50"), "ms"
            ),
            Figure(
                f"/metrics under load p99 ({size.series})",
                values("load_p99"),
                "ms",
                target,
                higher_is_better=False,
            ),
            Figure(
                f"drain slowed by back-to-back scrapes ({size.series})",
                values("stall"),
                "%",
            ),
        ]
    return figures
