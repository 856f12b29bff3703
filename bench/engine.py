"""Time one live worker draining a pre-filled topic, and its scrapes meanwhile.

Run as ``.venv/bin/python -m bench.engine [--events N]``. It starts its own
Kafka broker and Redis on free ports under a temporary folder, produces N
simulated events (the default company, one simulated stretch of business, no
faults) to the input topics, then starts one worker and measures:

- throughput: events folded per second, from the first batch to the last
  (the worker's own counters, read from /metrics);
- scrapes: the time of each /metrics request while the worker is busy, p50
  and p99;
- the worker's resident memory at the end.

Everything it started is stopped at the end, by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import encode_event, partition_key
from streams.config import load_settings
from streams.reference_store import ReferenceStore, connect
from streams.simulator.company import default_company
from streams.simulator.model import Simulation
from streams.simulator.reference import reference_document
from streams.topics import ensure_engine_topics
from tests.scrape import scrape


async def prefill(settings: dict[str, str], count: int) -> int:
    """Produce ``count`` simulated events; return how many were sent."""
    parsed = load_settings(settings)
    await ensure_engine_topics(parsed)
    start = datetime.now(UTC) - timedelta(days=400)
    events = Simulation(default_company(), seed=1, start=start).events()
    producer = AIOKafkaProducer(
        bootstrap_servers=parsed.kafka_bootstrap_servers, linger_ms=50
    )
    await producer.start()
    sent = 0
    try:
        for event in itertools.islice(events, count):
            await producer.send(
                parsed.topic_for(event.feed),
                encode_event(event),
                key=partition_key(event),
            )
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def seed(url: str) -> None:
    """Load the simulated company's reference data into Redis."""
    client = connect(url)
    try:
        document = reference_document(default_company(), datetime.now(UTC))
        await ReferenceStore(client).import_document(document)
    finally:
        await client.aclose()


def consumed(worker: Worker) -> float:
    """Return the events the worker has folded so far."""
    samples = scrape(worker.metrics_url)
    return sum(
        value
        for (name, _), value in samples.items()
        if name == "salespulse_events_consumed_total"
    )


def timed_scrape(url: str) -> float:
    """Return the seconds one /metrics request takes."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as reply:
        reply.read()
    return time.perf_counter() - began


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.engine")
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        kafka = Kafka(root / "kafka")
        redis = Redis(root / "redis")
        kafka.start()
        redis.start()
        worker: Worker | None = None
        try:
            settings = {
                "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "SALESPULSE_REDIS_URL": redis.url,
            }
            asyncio.run(seed(redis.url))
            began = time.perf_counter()
            sent = asyncio.run(prefill(settings, args.events))
            print(f"produced {sent:,} events in {time.perf_counter() - began:.1f} s")

            worker = Worker(root / "worker", settings)
            worker.start()
            scrapes: list[float] = []
            first: float | None = None
            done = 0.0
            while done < sent:
                scrapes.append(timed_scrape(worker.metrics_url))
                done = consumed(worker)
                if first is None and done > 0:
                    first = time.perf_counter()
                time.sleep(0.25)
            elapsed = time.perf_counter() - (first or time.perf_counter())
            scrapes.sort()
            p99 = scrapes[min(len(scrapes) - 1, int(len(scrapes) * 0.99))]
            print(f"folded {done:,.0f} events at {done / elapsed:,.0f} events/s")
            print(
                f"/metrics under load: {len(scrapes)} scrapes, p50 "
                f"{statistics.median(scrapes) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
            )
            series = sum(
                1
                for line in urllib.request.urlopen(worker.metrics_url)
                .read()
                .splitlines()
                if line and not line.startswith(b"#")
            )
            print(f"series on /metrics: {series:,}")
            print(f"worker resident memory: {worker.rss_bytes() / 2**20:,.0f} MiB")
        finally:
            if worker is not None:
                worker.stop()
            redis.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
