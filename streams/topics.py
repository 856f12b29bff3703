"""Create the engine's topics on the broker, with their partition counts."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streams.config import Settings
from streams.errors import StreamsError
from streams.kafka_security import kafka_client_options

log = logging.getLogger(__name__)

# Rejected messages are kept a month, so that someone can look at them, fix the
# sender and replay them.
DEADLETTER_RETENTION_MS = 30 * 24 * 3600 * 1000
# Forwarded events and links are read within moments; a week covers a worker
# that stays down over a weekend.
REPARTITION_RETENTION_MS = 7 * 24 * 3600 * 1000


class TopicError(StreamsError):
    """The broker refused to create or describe a topic."""


def topic_plan(settings: Settings) -> dict[str, int]:
    """Return every topic the engine reads or writes, with its partitions."""
    plan = dict.fromkeys(co_partitioned(settings), settings.topic_partitions)
    plan[settings.topic_deadletter] = settings.topic_partitions
    return plan


def co_partitioned(settings: Settings) -> list[str]:
    """Return the topics whose partition *p* all belong to the same worker."""
    return [
        *settings.input_topics(),
        settings.topic_repartition,
        settings.topic_changelog,
    ]


async def ensure_topics(
    bootstrap_servers: str,
    partitions_by_topic: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
    timeout_ms: int = 30_000,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet, wait for their leaders.

    A topic that exists keeps its partition count: changing it would move
    keys between partitions, so the engine never does it by itself.

    Args:
        bootstrap_servers: the brokers, ``host:port,...``.
        partitions_by_topic: the partitions of each topic to create.
        configs: topic-level settings of some of them (``retention.ms``...).
        timeout_ms: how long the broker may take to create them and elect
            every partition's leader.
        client_options: security options of the clients
            (:func:`~streams.kafka_security.kafka_client_options`).

    Returns:
        The names of the topics created.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=timeout_ms,
        **(client_options or {}),
    )
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=count,
                replication_factor=1,
                topic_configs=dict((configs or {}).get(name, {})),
            )
            for name, count in partitions_by_topic.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing, timeout_ms=timeout_ms)
            _raise_topic_errors(response.topic_errors)
    except KafkaError as error:
        raise TopicError(
            f"cannot create topics on {bootstrap_servers}: {error!r}"
        ) from error
    finally:
        await admin.close()
    if missing:
        await _wait_for_leaders(
            bootstrap_servers, missing, timeout_ms, client_options or {}
        )
        log.info("created topics: %s", ", ".join(topic.name for topic in missing))
    return [topic.name for topic in missing]


def _raise_topic_errors(topic_errors: Sequence[tuple[Any, ...]]) -> None:
    """Raise the first error of a CreateTopics answer but "already exists".

    Another worker may create a topic between our listing and our request.
    """
    for name, code, *message in topic_errors:
        error = for_code(code)
        if code != 0 and error is not TopicAlreadyExistsError:
            raise TopicError(f"cannot create topic {name}: {error.__name__} {message}")


async def _wait_for_leaders(
    bootstrap_servers: str,
    topics: Sequence[NewTopic],
    timeout_ms: int,
    client_options: Mapping[str, Any],
) -> None:
    """Wait until the broker leads every partition of new topics.

    The controller answers CreateTopics, and the metadata names the leader,
    a moment before the broker acts as that leader; a producer that comes
    sooner gets NotLeaderForPartition. Asking each partition's end offset
    retries quietly until the broker answers as leader.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        request_timeout_ms=timeout_ms,
        **client_options,
    )
    await consumer.start()
    try:
        await consumer.end_offsets(
            [
                TopicPartition(topic.name, partition)
                for topic in topics
                for partition in range(topic.num_partitions)
            ]
        )
    finally:
        await consumer.stop()


async def ensure_engine_topics(settings: Settings) -> list[str]:
    """Create the engine's topics if missing; check their partition counts.

    Raises:
        TopicError: a co-partitioned topic exists with another partition
            count than ``topic_partitions``: its events would meet the wrong
            entities.
    """
    security = kafka_client_options(settings)
    created = await ensure_topics(
        settings.kafka_bootstrap_servers,
        topic_plan(settings),
        {
            settings.topic_deadletter: {"retention.ms": str(DEADLETTER_RETENTION_MS)},
            settings.topic_changelog: {"cleanup.policy": "compact"},
            settings.topic_repartition: {"retention.ms": str(REPARTITION_RETENTION_MS)},
        },
        client_options=security,
    )
    counts = await partition_counts(
        settings.kafka_bootstrap_servers, co_partitioned(settings), security
    )
    wrong = {
        topic: count
        for topic, count in counts.items()
        if count != settings.topic_partitions
    }
    if wrong:
        found = ", ".join(f"{topic} has {count}" for topic, count in wrong.items())
        raise TopicError(
            f"SALESPULSE_TOPIC_PARTITIONS={settings.topic_partitions}, but {found} "
            "partitions: the input, repartition and changelog topics must all "
            "have the same number"
        )
    return created


async def partition_counts(
    bootstrap_servers: str,
    topics: Sequence[str],
    client_options: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Return the number of partitions of each of ``topics``."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **(client_options or {})
    )
    try:
        await admin.start()
        described = await admin.describe_topics(list(topics))
    except KafkaError as error:
        raise TopicError(
            f"cannot describe topics on {bootstrap_servers}: {error!r}"
        ) from error
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}
