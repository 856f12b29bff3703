"""Recovery and memory: a worker holding a million leads, killed and replaced.

One worker drains ``events`` lead.created events with distinct lead ids (one
key of state each); its resident memory is read from /proc. Then, ``runs``
times, the serving worker is killed with SIGKILL and a new one started in the
same group: the time from the kill until the new worker's KPI series equal the
first worker's is the recovery time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec

from bench.harness import (
    CACHE,
    BenchError,
    Figure,
    Stack,
    cached,
    drain_seconds,
    kpi_lines,
    prepare,
    read_messages,
    simulated,
)
from deploy.engine import Worker
from kpis.events import Event, LeadCreated, decode_event

PREFIX = "leads"
REPS = 14
TARGET_RECOVERY_SECONDS = 10.0
TARGET_MEMORY_MIB = 2048.0
RECOVERY_TIMEOUT_SECONDS = 600.0


def leads(count: int) -> Iterator[Event]:
    """Yield ``count`` lead.created events with distinct lead ids."""
    template = next(
        event
        for _, _, value in read_messages(simulated(REPS, 20_000))
        if isinstance(event := decode_event(value), LeadCreated)
    )
    for index in range(count):
        data = msgspec.structs.replace(template.data, lead_id=f"L-bench-{index:08d}")
        yield msgspec.structs.replace(template, id=f"bench-lead-{index}", data=data)


def measure(stack: Stack, events: int, runs: int) -> list[Figure]:
    """Return the recovery time and the memory at ``events`` keys."""
    path = cached(CACHE / f"leads-{events}.tsv", lambda: leads(events))
    print(f"recovery: {events:,} leads of distinct ids")
    prepare(stack, PREFIX, REPS, read_messages(path))
    settings = stack.with_topics(stack.settings(f"{PREFIX}-worker"), PREFIX)
    worker = stack.start_worker(settings, "leads-0")
    drained = drain_seconds(worker, events)
    time.sleep(2.0)  # the last batch's changelog and commit
    expected = kpi_lines(worker.metrics_url)
    memory = [worker.rss_bytes() / 2**20]
    print(f"  drained in {drained:.0f} s; {len(expected):,} KPI series")
    seconds = []
    for run in range(runs):
        worker.kill()
        began = time.monotonic()
        worker = stack.start_worker(settings, f"leads-{run + 1}")
        seconds.append(_until_equal(worker, expected, began))
        memory.append(worker.rss_bytes() / 2**20)
    worker.stop()
    return [
        Figure(
            f"recovery of {events:,} keys after SIGKILL",
            tuple(seconds),
            "s",
            TARGET_RECOVERY_SECONDS,
            higher_is_better=False,
        ),
        Figure(
            f"worker memory at {events:,} keys",
            tuple(memory),
            "MiB",
            TARGET_MEMORY_MIB,
            higher_is_better=False,
        ),
    ]


def _until_equal(worker: Worker, expected: list[bytes], began: float) -> float:
    deadline = began + RECOVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if kpi_lines(worker.metrics_url) == expected:
            return time.monotonic() - began
        time.sleep(0.1)
    raise BenchError("the new worker did not show the first one's numbers in time")
