"""Tests of the Kafka broker that deploy/broker.py starts and stops."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient

from deploy import broker
from deploy.broker import READY_TOPIC, Kafka
from deploy.services import DeployError
from streams.topics import ensure_topics


async def partition_numbers(bootstrap_servers: str, topic: str) -> set[int]:
    """Return the partition numbers of a topic, from the broker's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {partition["partition"] for partition in description["partitions"]}


@pytest.mark.integration
async def test_kafka_fixture_fetches_back_what_was_produced(kafka: Kafka) -> None:
    topic = f"test.round-trip.{uuid.uuid4().hex}"
    await ensure_topics(kafka.bootstrap_servers, {topic: 3}, timeout_ms=10_000)

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        written = await producer.send_and_wait(
            topic, b'{"deal_id": "D-1"}', key=b"D-1", partition=2
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 2)
        consumer.assign([partition])
        consumer.seek(partition, written.offset)
        record = await consumer.getone()
    finally:
        await consumer.stop()

    assert (record.key, record.value) == (b"D-1", b'{"deal_id": "D-1"}')
    assert await partition_numbers(kafka.bootstrap_servers, topic) == {0, 1, 2}


@pytest.mark.integration
def test_kafka_fixture_is_ready_on_loopback(kafka: Kafka) -> None:
    assert kafka.is_running()
    assert kafka.bootstrap_servers == f"127.0.0.1:{kafka.port}"
    assert kafka.startup_seconds is not None
    assert kafka.rss_bytes() > 0
    written = (kafka.workdir / "server.properties").read_text().splitlines()
    assert "auto.create.topics.enable=false" in written
    assert "offsets.topic.replication.factor=1" in written
    assert "transaction.state.log.min.isr=1" in written


@pytest.mark.integration
async def test_kafka_ensure_topics_leaves_existing_topics_alone(kafka: Kafka) -> None:
    await ensure_topics(kafka.bootstrap_servers, {READY_TOPIC: 4}, timeout_ms=10_000)

    assert await partition_numbers(kafka.bootstrap_servers, READY_TOPIC) == {0}


def test_kafka_without_installed_jars_says_to_run_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "KAFKA_CACHE", tmp_path)

    with pytest.raises(DeployError, match=r"deploy/install\.sh"):
        Kafka(tmp_path / "kafka")


def test_kafka_jars_folder_holds_the_broker_of_the_pinned_version() -> None:
    version = broker.kafka_version()

    folder = broker.kafka_jars_folder()

    assert folder.name == version
    assert (folder / f"kafka_2.13-{version}.jar").is_file()
