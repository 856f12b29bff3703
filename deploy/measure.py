"""Measure how long each component takes to start and how much memory it holds.

Run as ``python -m deploy.measure``. Every component starts on free ports in
a temporary folder, one after the other so that they do not compete for the
two cores while their start is timed, and all are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer

from deploy.broker import Kafka
from deploy.monitoring import Alertmanager, Prometheus
from deploy.services import Redis, Service, run_coroutine
from streams.topics import ensure_topics

logger = logging.getLogger(__name__)

# The engine's default topics (docs of streams/config.py), each with the
# engine's default of 8 partitions.
ENGINE_TOPICS = (
    "sales.deals",
    "sales.activities",
    "sales.leads",
    "billing.subscriptions",
    "finance.costs",
    "salespulse.deadletter",
)
ENGINE_PARTITIONS = 8
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """What one component cost: its start time and resident memory (MiB)."""

    component: str
    startup_seconds: float
    rss_ready: float
    rss_idle: float
    rss_loaded: float | None = None


def rss_mebibytes(service: Service) -> float:
    """Return the resident memory of a running service in MiB."""
    return service.rss_bytes() / MEBIBYTE


async def load_kafka(bootstrap_servers: str, messages: int) -> float:
    """Create the engine's topics, produce small messages; return the seconds."""
    began = time.monotonic()
    await ensure_topics(
        bootstrap_servers,
        dict.fromkeys(ENGINE_TOPICS, ENGINE_PARTITIONS),
        timeout_ms=30_000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        pending = [
            await producer.send(
                ENGINE_TOPICS[number % len(ENGINE_TOPICS)],
                b'{"id":"%d","amount":"1200.00"}' % number,
                key=b"deal-%d" % (number % 1000),
            )
            for number in range(messages)
        ]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - began


def start_all(workdir: Path) -> list[Service]:
    """Start each component in turn; stop those started if one fails."""
    services: list[Service] = [
        Kafka(workdir / "kafka"),
        Redis(workdir / "redis"),
        Prometheus(workdir / "prometheus"),
        Alertmanager(workdir / "alertmanager"),
    ]
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
    except BaseException:
        stop_all(started)
        raise
    return services


def stop_all(services: Sequence[Service]) -> None:
    """Stop every service, the last started first."""
    for service in reversed(services):
        service.stop()


def measure(workdir: Path, idle_seconds: float, messages: int) -> list[Measurement]:
    """Start everything, sample memory at each moment, stop everything."""
    services = start_all(workdir)
    try:
        ready = [rss_mebibytes(service) for service in services]

        time.sleep(idle_seconds)
        idle = [rss_mebibytes(service) for service in services]

        kafka = next(service for service in services if isinstance(service, Kafka))
        seconds = run_coroutine(load_kafka(kafka.bootstrap_servers, messages))
        print(
            f"kafka: created {len(ENGINE_TOPICS)} topics x {ENGINE_PARTITIONS} "
            f"partitions and produced {messages:,} messages in {seconds:.1f} s"
        )
        loaded = {kafka.component: rss_mebibytes(kafka)}
    finally:
        stop_all(services)
    return [
        Measurement(
            service.component,
            service.startup_seconds or 0.0,
            rss_ready,
            rss_idle,
            loaded.get(service.component),
        )
        for service, rss_ready, rss_idle in zip(services, ready, idle, strict=True)
    ]


def render(measurements: Sequence[Measurement], idle_seconds: float) -> str:
    """Format the measurements as a table."""
    header = (
        f"{'component':<13}{'ready (s)':>10}{'RSS ready':>12}"
        f"{f'RSS +{idle_seconds:g}s':>12}{'RSS loaded':>12}"
    )
    rows = [header]
    for row in measurements:
        loaded = "-" if row.rss_loaded is None else f"{row.rss_loaded:.0f} MiB"
        rows.append(
            f"{row.component:<13}{row.startup_seconds:>10.2f}"
            f"{row.rss_ready:>8.0f} MiB{row.rss_idle:>8.0f} MiB{loaded:>12}"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure start time and memory of every component and print a table."""
    parser = argparse.ArgumentParser(prog="python -m deploy.measure")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--messages", type=int, default=100_000)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="salespulse-measure-") as folder:
        measurements = measure(Path(folder), arguments.idle_seconds, arguments.messages)
    print(render(measurements, arguments.idle_seconds))


if __name__ == "__main__":
    main()
