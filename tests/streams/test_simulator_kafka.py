"""The simulator's Kafka sink against the real broker."""

import asyncio
import itertools
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from deploy.broker import Kafka
from kpis.events import Feed, decode_event, partition_key
from streams.simulator.company import default_company
from streams.simulator.faults import messages
from streams.simulator.model import Simulation
from streams.simulator.runner import send_messages
from streams.simulator.sinks import KafkaSink

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENTS = 400
PARTITIONS = 3


async def read_topic(servers: str, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    """Read ``count`` records of ``topic`` from the beginning, as (key, value)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[tuple[bytes, bytes]] = []
    try:
        # A bounded number of polls, so that a missing record fails the test
        # instead of hanging it.
        for _ in range(60):
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend((record.key, record.value) for record in batch)
            if len(records) >= count:
                break
    finally:
        await consumer.stop()
    return records


async def partition_counts(servers: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {entry["topic"]: len(entry["partitions"]) for entry in described}


async def test_events_reach_their_feeds_topics_with_their_keys(kafka: Kafka) -> None:
    prefix = f"simulator-{uuid.uuid4().hex[:8]}"
    topics = {feed: f"{prefix}.{feed}" for feed in Feed}
    simulation = Simulation(default_company(), seed=5, start=START)
    sent = list(messages(itertools.islice(simulation.events(), EVENTS)))
    expected = Counter(message.feed for message in sent)

    async with KafkaSink(
        kafka.bootstrap_servers, topics, partitions=PARTITIONS
    ) as sink:
        await send_messages(sent, sink, start=START)

    assert await partition_counts(kafka.bootstrap_servers, list(topics.values())) == {
        topic: PARTITIONS for topic in topics.values()
    }
    received: list[bytes] = []
    for feed, topic in topics.items():
        records = await read_topic(kafka.bootstrap_servers, topic, expected[feed])
        assert len(records) == expected[feed], topic
        for key, value in records:
            event = decode_event(value, feed=feed)
            assert key == partition_key(event)
        received.extend(value for _, value in records)
    assert sorted(received) == sorted(message.value for message in sent)
    assert set(expected) == set(Feed)


async def test_existing_topics_are_left_as_they_are(kafka: Kafka) -> None:
    topics = {feed: f"simulator-{uuid.uuid4().hex[:8]}.{feed}" for feed in Feed}
    async with KafkaSink(kafka.bootstrap_servers, topics, partitions=2):
        pass

    async with KafkaSink(kafka.bootstrap_servers, topics, partitions=5):
        await asyncio.sleep(0)

    counts = await partition_counts(kafka.bootstrap_servers, list(topics.values()))
    assert set(counts.values()) == {2}
