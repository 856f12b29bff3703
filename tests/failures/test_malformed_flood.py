"""Thousands of broken messages mixed into normal traffic.

Every broken message (not JSON, oversized, binary garbage, JSON that is not a
CloudEvent, a valid event on another feed's topic) must land on the
dead-letter topic and be counted once by ``salespulse_events_rejected_total``;
the KPIs must equal the replay of the log, which holds the valid ones.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from deploy.broker import Kafka
from deploy.services import Redis
from kpis.events import Feed
from streams.config import Settings
from streams.replay import replay
from tests.scrape import scrape, wait_for
from tests.streams.engine_harness import (
    Scenario,
    make_scenario,
    produce,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration

EACH = 600  # broken messages of each of the five kinds
OVERSIZED = 120  # fewer of these: each is larger than max_event_bytes


def test_a_flood_of_broken_messages_lands_on_the_dead_letter_topic(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path, events=2_000, seed=19)
    settings = scenario.parsed
    broken = _broken_messages(scenario, settings)
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        asyncio.run(_send(settings, broken))
        # The simulator's own broken messages, marked with their reason.
        in_log = sum(1 for message in scenario.messages if message.reject)
        expected_rejects = in_log + len(broken)

        def rejected() -> float:
            return sum(
                value
                for (name, _), value in scrape(worker.metrics_url).items()
                if name == "salespulse_events_rejected_total"
            )

        wait_for(
            lambda: rejected() >= expected_rejects,
            timeout=60,
            what=f"{expected_rejects} rejects",
        )
        wait_until_equal([worker], scenario)
        by_reason = _rejected_by_reason(worker.metrics_url)
        assert rejected() == expected_rejects, str(
            (by_reason, _log_by_reason(scenario))
        )
        assert asyncio.run(_deadletter_count(settings)) == expected_rejects
    finally:
        worker.stop()


def _broken_messages(scenario: Scenario, settings: Settings) -> list[tuple[str, bytes]]:
    """Return (topic, value) of every kind of broken message, shuffled."""
    rng = random.Random(5)
    topics = [settings.topic_for(feed) for feed in Feed]
    limit = settings.max_event_bytes
    deals = [
        m.value for m in scenario.messages if m.feed is Feed.DEALS and m.reject is None
    ]
    leads_topic = settings.topic_for(Feed.LEADS)
    broken: list[tuple[str, bytes]] = []
    for number in range(EACH):
        topic = rng.choice(topics)
        broken.append((topic, f"not json {number} {{".encode()))
        broken.append((topic, rng.randbytes(rng.randint(1, 2_000))))
        broken.append((topic, json.dumps({"hello": number, "data": [1, 2]}).encode()))
        broken.append((leads_topic, deals[number % len(deals)]))
    for number in range(OVERSIZED):
        body = {"specversion": "1.0", "id": f"big-{number}", "pad": "x" * limit}
        broken.append((rng.choice(topics), json.dumps(body).encode()))
    rng.shuffle(broken)
    return broken


async def _send(settings: Settings, broken: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        linger_ms=20,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        for topic, value in broken:
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()


async def _deadletter_count(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        # The engine creates the dead-letter topic with the inputs' partitions.
        partitions = range(settings.topic_partitions)
        ends = await consumer.end_offsets(
            [TopicPartition(settings.topic_deadletter, p) for p in partitions]
        )
    finally:
        await consumer.stop()
    return sum(ends.values())


def _rejected_by_reason(url: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (name, labels), value in scrape(url).items():
        if name == "salespulse_events_rejected_total":
            reason = dict(labels)["reason"]
            totals[reason] = totals.get(reason, 0) + value
    return totals


def _log_by_reason(scenario: Scenario) -> dict[str, int]:
    with scenario.log.open("rb") as log:
        _, result = replay(log, scenario.reference, datetime.now(UTC), scenario.parsed)
    return dict(result.rejects)
