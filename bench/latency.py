"""Latency: from an event's timestamp to its effect on /metrics, at half load.

A worker reads topics of its own. A producer sends the simulated year's
events (costs left out) at half the worker's sustainable rate, and every
``PROBE_SECONDS`` a cost event stamped with the current time. A thread polls
/metrics back to back; a probe is seen once the worker's newest cost time
(``salespulse_event_newest_timestamp_seconds``, rendered in the same snapshot
as the KPI series) reaches the probe's time.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import msgspec
from aiokafka import AIOKafkaProducer

from bench.harness import (
    Figure,
    Message,
    Stack,
    percentile,
    prepare,
    read_messages,
    reps_for,
    simulated,
)
from kpis.events import CostRecorded, Event, Feed, decode_event, encode_event

PREFIX = "latency"
PROBE_SECONDS = 0.1
RUN_SECONDS = 20.0
TICK_SECONDS = 0.01
TARGET_P99_MS = 50.0
NEWEST_COST = f'salespulse_event_newest_timestamp_seconds{{topic="{PREFIX}.costs"}}'


class Watcher(threading.Thread):
    """Poll /metrics; note when the newest cost time first reaches each value."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.seen: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        """Poll until :attr:`done` is set."""
        needle = NEWEST_COST.encode()
        last = 0.0
        while not self.done.is_set():
            with urllib.request.urlopen(self.url, timeout=60) as reply:
                text = reply.read()
            now = time.time()
            start = text.find(needle)
            if start < 0:
                continue
            end = text.index(b"\n", start)
            newest = float(text[start + len(needle) : end])
            if newest > last:
                self.seen.append((newest, now))
                last = newest

    def latency_ms(self, probe_time: float) -> float | None:
        """Return how long after ``probe_time`` it was first seen."""
        for newest, seen_at in self.seen:
            if newest >= probe_time:
                return (seen_at - probe_time) * 1000
        return None


def probe(template: Event) -> tuple[bytes, bytes, float]:
    """Return a cost event stamped now: its key, value and time."""
    now = datetime.now(UTC)
    event = msgspec.structs.replace(template, id=str(uuid.uuid4()), time=now)
    return event.data.partition_id.encode(), encode_event(event), now.timestamp()


async def load(
    stack: Stack, background: list[Message], template: Event, rate: float
) -> tuple[list[float], float]:
    """Send load at ``rate`` and probes for a run; return probe times and rate."""
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka.bootstrap_servers, linger_ms=1
    )
    await producer.start()
    probes: list[float] = []
    sent = 0
    began = time.monotonic()
    next_probe = began
    try:
        while (elapsed := time.monotonic() - began) < RUN_SECONDS:
            while sent < rate * elapsed:
                feed, key, value = background[sent % len(background)]
                await producer.send(f"{PREFIX}.{feed.value}", value, key=key)
                sent += 1
            if time.monotonic() >= next_probe:
                key, value, stamp = probe(template)
                await producer.send(f"{PREFIX}.costs", value, key=key)
                probes.append(stamp)
                next_probe += PROBE_SECONDS
            await asyncio.sleep(TICK_SECONDS)
        await producer.flush()
    finally:
        await producer.stop()
    return probes, sent / RUN_SECONDS


def measure(stack: Stack, events: int, runs: int, rate: float) -> list[Figure]:
    """Return p50 and p99 of the latency at ``rate`` events per second."""
    reps = reps_for(events)
    messages = read_messages(simulated(reps, events))
    background = [message for message in messages if message[0] is not Feed.COSTS]
    template = next(
        event
        for _, _, value in messages
        if isinstance(event := decode_event(value), CostRecorded)
    )
    print(f"latency: at {rate:,.0f} events/s, a probe every {PROBE_SECONDS} s")
    prepare(stack, PREFIX, reps, [])
    settings = stack.with_topics(stack.settings(f"{PREFIX}-worker"), PREFIX)
    worker = stack.start_worker(settings, PREFIX)
    p50s, p99s, rates = [], [], []
    for run in range(runs):
        watcher = Watcher(worker.metrics_url)
        watcher.start()
        offset = run * int(rate * RUN_SECONDS)
        shifted = background[offset % len(background) :] + background
        probes, achieved = asyncio.run(load(stack, shifted, template, rate))
        time.sleep(3.0)
        watcher.done.set()
        watcher.join()
        latencies = [watcher.latency_ms(stamp) for stamp in probes]
        seen = [value for value in latencies if value is not None]
        p50s.append(percentile(seen, 0.5))
        p99s.append(percentile(seen, 0.99))
        rates.append(achieved)
    worker.stop()
    return [
        Figure("load sent", tuple(rates), "events/s"),
        Figure("latency p50, event time to /metrics", tuple(p50s), "ms"),
        Figure(
            "latency p99, event time to /metrics",
            tuple(p99s),
            "ms",
            TARGET_P99_MS,
            higher_is_better=False,
        ),
    ]
