"""Anchors: a plain aiokafka consumer (the ceiling) and a hand-written Faust agent.

Both read the topics the worker drains, each with a consumer group of its own.
The plain consumer only decodes; the Faust agent (``bench.faust_agent``, run
as a subprocess) counts deals per rep in a Table, one table update per event,
as a user would write it by hand.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from aiokafka import AIOKafkaConsumer

from bench.harness import BenchError, Stack
from kpis.events import Feed, decode_event

FAUST_TIMEOUT_SECONDS = 1800


async def _plain_drain(stack: Stack, prefix: str, group: str, events: int) -> float:
    consumer = AIOKafkaConsumer(
        *(f"{prefix}.{feed.value}" for feed in Feed),
        bootstrap_servers=stack.kafka.bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    try:
        count, first = 0, 0.0
        while count < events:
            batch = await consumer.getmany(timeout_ms=200, max_records=5_000)
            if batch and not first:
                first = time.perf_counter()
            for records in batch.values():
                for record in records:
                    decode_event(record.value)
                count += len(records)
        return count / (time.perf_counter() - first)
    finally:
        await consumer.stop()


def plain_rate(stack: Stack, prefix: str, events: int, run: int) -> float:
    """Return the events per second of a consumer that only decodes."""
    return asyncio.run(_plain_drain(stack, prefix, f"{prefix}-plain-{run}", events))


def faust_rate(stack: Stack, prefix: str, deals: int, run: int) -> float:
    """Return the events per second of the Faust agent over the deals topic."""
    command = [
        sys.executable,
        "-m",
        "bench.faust_agent",
        stack.kafka.bootstrap_servers,
        f"{prefix}.{Feed.DEALS.value}",
        f"{prefix}-faust-{run}",
        str(deals),
        str(stack.folder / f"faust-{run}"),
    ]
    log_path = stack.folder / f"faust-{run}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, text=True)
    try:
        process.wait(timeout=FAUST_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise BenchError("the Faust agent did not drain the deals topic") from error
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = stack.folder / f"faust-{run}" / "result.json"
    if result.exists():
        return float(json.loads(result.read_text())["events_per_second"])
    tail = log_path.read_text(errors="replace")[-2000:]
    raise BenchError(f"the Faust agent printed no rate; its log ends:\n{tail}")
