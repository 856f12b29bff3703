"""What the live-engine tests share: a simulated log, its replay, workers.

A test simulates a log with duplicates, late and malformed messages, writes
it to a file (for the batch replay) and produces the same messages to Kafka
in a shuffled order (for the workers), then compares each worker's
``/metrics`` with the replay's exposition of the same log.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import redis
from aiokafka import AIOKafkaProducer

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import Feed
from kpis.measures import Measure
from kpis.reference import ReferenceData
from streams.config import Settings, load_settings
from streams.replay import replay
from streams.simulator.company import default_company
from streams.simulator.faults import FaultShares, Message, messages
from streams.simulator.model import Simulation
from streams.simulator.reference import reference_document
from streams.simulator.scheduling import DEFAULT_RATES
from streams.simulator.sinks import FileSink
from streams.topics import ensure_engine_topics
from tests.scrape import wait_for

Series = tuple[str, frozenset[tuple[str, str]]]

# Engine health and clock-driven series differ between a live worker and a
# replay by nature; everything else must be equal to the digit.
NOT_COMPARED = ("salespulse_window_elapsed_ratio",)
# Each worker exports the sums of its own partitions: Prometheus adds them up.
# The reference series (targets, reps, windows) come whole from every worker.
SUMMED = frozenset(f"salespulse_{measure.spec.name}" for measure in Measure)


@dataclass
class Scenario:
    """One test's topics, consumer group, Redis prefix and log."""

    settings: dict[str, str]
    log: Path
    messages: list[Message]
    reference: ReferenceData

    @property
    def parsed(self) -> Settings:
        """Return the settings the workers run with."""
        return load_settings(self.settings)


def make_scenario(
    kafka: Kafka,
    redis_server: Redis,
    tmp_path: Path,
    *,
    events: int = 3_000,
    seed: int = 7,
    partitions: int = 8,
    days: int = 75,
    team_pace: tuple[tuple[str, float], ...] = (),
) -> Scenario:
    """Simulate a log from ``days`` ago; name topics and a group of its own."""
    suffix = uuid.uuid4().hex[:8]
    settings = {
        "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SALESPULSE_REDIS_URL": redis_server.url,
        "SALESPULSE_REDIS_PREFIX": f"test-{suffix}:",
        "SALESPULSE_APP_ID": f"engine-{suffix}",
        "SALESPULSE_TOPIC_PARTITIONS": str(partitions),
        "SALESPULSE_TOPIC_DEADLETTER": f"deadletter-{suffix}",
        **{f"SALESPULSE_TOPIC_{feed.name}": f"{feed}-{suffix}" for feed in Feed},
    }
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    rates = replace(DEFAULT_RATES, team_pace=team_pace)
    simulation = Simulation(default_company(), seed=seed, start=start, rates=rates)
    shares = FaultShares(duplicates=0.03, late=0.03, malformed=0.01)
    now = datetime.now(UTC)
    past = itertools.takewhile(lambda event: event.time <= now, simulation.events())
    generated = list(messages(itertools.islice(past, events), shares))
    log = tmp_path / "log.jsonl"
    topics = {feed: load_settings(settings).topic_for(feed) for feed in Feed}
    asyncio.run(_write(log, topics, generated))
    document = reference_document(default_company(), around=now)
    _store_reference(redis_server.url, settings["SALESPULSE_REDIS_PREFIX"], document)
    return Scenario(settings, log, generated, ReferenceData.from_mapping(document))


async def _write(path: Path, topics: dict[Feed, str], generated: list[Message]) -> None:
    sink = FileSink(path, topics)
    await sink.start()
    for message in generated:
        await sink.send(message)
    await sink.stop()


def _store_reference(url: str, prefix: str, document: dict[str, object]) -> None:
    from streams.reference_store import ReferenceStore  # noqa: PLC0415

    async def store() -> None:
        client = redis.asyncio.Redis.from_url(url)
        try:
            await ReferenceStore(client, prefix=prefix).import_document(document)
        finally:
            await client.aclose()

    asyncio.run(store())


def produce(scenario: Scenario, order_seed: int = 1) -> None:
    """Create the topics and produce the scenario's messages, shuffled."""
    shuffled = list(scenario.messages)
    random.Random(order_seed).shuffle(shuffled)
    asyncio.run(_produce(scenario.parsed, shuffled))


async def _produce(settings: Settings, shuffled: Sequence[Message]) -> None:
    await ensure_engine_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        linger_ms=20,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        for message in shuffled:
            await producer.send(
                settings.topic_for(message.feed), message.value, key=message.key
            )
        await producer.flush()
    finally:
        await producer.stop()


def start_worker(scenario: Scenario, workdir: Path, name: str = "worker") -> Worker:
    """Start a worker of the scenario's group."""
    workdir.mkdir(parents=True, exist_ok=True)
    worker = Worker(workdir, scenario.settings, name=name)
    worker.start()
    return worker


def expected(scenario: Scenario, now: datetime) -> dict[Series, Decimal]:
    """Return the replay's exposition of the scenario's log at ``now``."""
    with scenario.log.open("rb") as log:
        state, _ = replay(log, scenario.reference, now, scenario.parsed)
    from kpis.exposition import exposition  # noqa: PLC0415

    return parse(exposition(state.samples(now), scenario.reference, now))


def parse(text: str) -> dict[Series, Decimal]:
    """Return the KPI samples of an exposition, exact, by name and labels."""
    samples: dict[Series, Decimal] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = frozenset(
            tuple(pair.split("=", 1)) for pair in _split_labels(labels.rstrip("}"))
        )
        samples[name, pairs] = Decimal(value)  # type: ignore[index]
    return samples


def _split_labels(text: str) -> list[str]:
    if not text:
        return []
    return [pair.replace('"', "") for pair in text.split('",') if pair]


def kpis_of(samples: dict[Series, Decimal], names: set[str]) -> dict[Series, Decimal]:
    """Keep the families of ``names`` that are compared."""
    return {
        key: value
        for key, value in samples.items()
        if key[0] in names and key[0] not in NOT_COMPARED
    }


def summed(expositions: Sequence[dict[Series, Decimal]]) -> dict[Series, Decimal]:
    """Add expositions up, series by series, as Prometheus' sum() does."""
    total: dict[Series, Decimal] = defaultdict(Decimal)
    for samples in expositions:
        for key, value in samples.items():
            total[key] += value
    return dict(total)


def scrape_text(worker: Worker) -> str:
    import urllib.request  # noqa: PLC0415

    with urllib.request.urlopen(worker.metrics_url, timeout=5) as reply:
        return str(reply.read().decode())


def wait_until_equal(
    workers: Sequence[Worker], scenario: Scenario, timeout: float = 120
) -> tuple[dict[Series, Decimal], dict[Series, Decimal]]:
    """Wait until the workers' summed KPIs equal the replay's; return both."""
    last: list[tuple[dict[Series, Decimal], dict[Series, Decimal]]] = []
    expected_names = expected(scenario, datetime.now(UTC))

    def equal() -> bool:
        now = datetime.now(UTC)
        want = kpis_of(expected(scenario, now), {name for name, _ in expected_names})
        scraped = [parse(scrape_text(worker)) for worker in workers]
        live = summed([kpis_of(samples, set(SUMMED)) for samples in scraped])
        reference_names = {name for name, _ in want} - SUMMED
        for samples in scraped:
            # Every worker must export the whole reference, as the replay does.
            if kpis_of(samples, reference_names) != kpis_of(want, reference_names):
                last[:] = [(kpis_of(samples, reference_names), want)]
                return False
            live.update(kpis_of(samples, reference_names))
        last[:] = [(live, want)]
        return live == want

    try:
        wait_for(equal, timeout=timeout, what="live expositions equal to the replay")
    except AssertionError:
        live, want = last[0]
        diff = {
            key: (live.get(key), want.get(key))
            for key in set(live) | set(want)
            if live.get(key) != want.get(key)
        }
        sample = json.dumps(
            [[k[0], sorted(k[1]), str(v)] for k, v in list(diff.items())[:15]],
            indent=1,
        )
        health = [
            {
                name: value
                for (name, _), value in parse(scrape_text(worker)).items()
                if name.startswith(("salespulse_batches", "salespulse_consumer_lag"))
                or name == "salespulse_events_consumed_total"
            }
            for worker in workers
        ]
        raise AssertionError(
            f"{len(diff)} series differ, e.g. {sample}; workers: {health}"
        ) from None
    return last[0]
