"""The first worker against the real broker: messages sent by kcat, as a
user's own system would, are validated, counted, or dead-lettered."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiokafka import AIOKafkaConsumer

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import EVENT_TYPES, Feed
from streams.config import load_settings
from streams.reference_store import ReferenceStore
from tests.samples import DATA, envelope, sample
from tests.scrape import scrape, values_of, wait_for

pytestmark = pytest.mark.integration

CONSUMED = "salespulse_events_consumed_total"
REJECTED = "salespulse_events_rejected_total"


@pytest.fixture
def worker(kafka: Kafka, redis_server: Redis, tmp_path: Path) -> Iterator[Worker]:
    """Yield a worker on topics and a consumer group of this test's own."""
    suffix = uuid.uuid4().hex[:8]
    settings = {
        "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SALESPULSE_REDIS_URL": redis_server.url,
        "SALESPULSE_REDIS_PREFIX": f"test-{suffix}:",
        "SALESPULSE_APP_ID": f"salespulse-test-{suffix}",
        "SALESPULSE_TOPIC_PARTITIONS": "2",
        "SALESPULSE_TOPIC_DEADLETTER": f"deadletter-{suffix}",
        **{f"SALESPULSE_TOPIC_{feed.name}": f"{feed}-{suffix}" for feed in Feed},
    }
    # The samples are priced in euros and pounds: give the worker their rates.
    asyncio.run(_set_rates(redis_server.url, settings["SALESPULSE_REDIS_PREFIX"]))
    process = Worker(tmp_path, settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _set_rates(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        store = ReferenceStore(client, prefix=prefix)
        await store.set_rate("EUR", "2020-01-01T00:00:00Z", "1.08")
        await store.set_rate("GBP", "2020-01-01T00:00:00Z", "1.27")
    finally:
        await client.aclose()


def topic_of(worker: Worker, feed: Feed) -> str:
    return load_settings(worker.settings).topic_for(feed)


def send_with_kcat(
    kafka: Kafka, topic: str, payload: bytes, key: str = "key-1"
) -> None:
    """Produce one message with kcat, the way a user's own system would."""
    subprocess.run(
        [
            "kcat",
            "-P",
            "-b",
            kafka.bootstrap_servers,
            "-t",
            topic,
            "-k",
            key,
            "-H",
            "origin=kcat-test",
        ],
        input=payload,
        check=True,
        timeout=30,
    )


def test_every_event_type_round_trips_once(kafka: Kafka, worker: Worker) -> None:
    for event_type, feed in EVENT_TYPES.items():
        send_with_kcat(kafka, topic_of(worker, feed), sample(event_type))

    def counted() -> dict[str, float]:
        return values_of(scrape(worker.metrics_url), CONSUMED, "type")

    wait_for(
        lambda: len(counted()) == len(EVENT_TYPES),
        timeout=60,
        what="every event type on /metrics",
    )
    assert counted() == dict.fromkeys(EVENT_TYPES, 1.0)
    assert values_of(scrape(worker.metrics_url), REJECTED, "reason") == {}

    # The whole exposition, KPIs and engine health, passes Prometheus' lint.
    with urllib.request.urlopen(worker.metrics_url, timeout=10) as reply:
        exposition = reply.read()
    lint = subprocess.run(
        ["promtool", "check", "metrics"],
        input=exposition,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def malformed_messages() -> dict[str, tuple[Feed, bytes]]:
    """Return one message per reject reason, with the feed it is sent to."""

    def event(event_type: str, **changes: Any) -> bytes:
        data = {**DATA[event_type], **changes}
        data = {k: v for k, v in data.items() if v is not None}
        return json.dumps(envelope(event_type, f"bad-{uuid.uuid4()}", data)).encode()

    not_cloudevents = json.dumps({"hello": "world", "type": "deal.won"}).encode()
    unknown_type = json.dumps(
        envelope("deal.teleported", "bad-type", {"deal_id": "D-1"})
    ).encode()
    return {
        "not_json": (Feed.DEALS, b"{this is not json"),
        "not_cloudevents": (Feed.DEALS, not_cloudevents),
        "unknown_type": (Feed.DEALS, unknown_type),
        "wrong_topic": (Feed.LEADS, event("deal.created")),
        "missing_field": (Feed.DEALS, event("deal.created", amount=None)),
        "invalid_field": (
            Feed.ACTIVITIES,
            event("activity.logged", kind="carrier_pigeon"),
        ),
        "unknown_currency": (Feed.DEALS, event("deal.won", currency="XYZ")),
        "negative_amount": (Feed.DEALS, event("deal.won", amount=-5)),
        "oversized": (Feed.DEALS, event("deal.created", notes="x" * 70_000)),
    }


def test_malformed_messages_are_deadlettered_with_their_reason(
    kafka: Kafka, worker: Worker
) -> None:
    bad = malformed_messages()
    for feed, payload in bad.values():
        send_with_kcat(kafka, topic_of(worker, feed), payload)
    # The worker keeps going: a valid event after the bad ones is counted.
    send_with_kcat(kafka, topic_of(worker, Feed.DEALS), sample("deal.created"))

    def rejected() -> dict[str, float]:
        return values_of(scrape(worker.metrics_url), REJECTED, "reason")

    wait_for(
        lambda: (
            sum(rejected().values()) >= len(bad)
            and values_of(scrape(worker.metrics_url), CONSUMED, "type")
            == {"deal.created": 1.0}
        ),
        timeout=60,
        what="every malformed message rejected and the valid one consumed",
    )
    assert rejected() == dict.fromkeys(bad, 1.0)

    deadletter = asyncio.run(
        read_topic(
            kafka.bootstrap_servers,
            load_settings(worker.settings).topic_deadletter,
            count=len(bad),
        )
    )
    by_reason = {
        message["headers"]["salespulse.reason"]: message for message in deadletter
    }
    assert set(by_reason) == set(bad)
    for reason, (feed, payload) in bad.items():
        message = by_reason[reason]
        assert message["value"] == payload, reason
        assert message["key"] == b"key-1"
        assert message["headers"]["salespulse.topic"] == topic_of(worker, feed)
        assert message["headers"]["origin"] == "kcat-test"
        assert message["headers"]["salespulse.detail"], reason


async def read_topic(
    bootstrap_servers: str, topic: str, count: int
) -> list[dict[str, Any]]:
    """Read ``count`` messages from the start of ``topic``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    messages: list[dict[str, Any]] = []
    try:
        while len(messages) < count:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
            for records in batch.values():
                messages.extend(
                    {
                        "key": record.key,
                        "value": record.value,
                        "headers": {k: v.decode() for k, v in record.headers},
                    }
                    for record in records
                )
    finally:
        await consumer.stop()
    return messages
