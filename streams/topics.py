"""Create the engine's topics on the broker, with their partition counts."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streams.config import Settings
from streams.errors import StreamsError

log = logging.getLogger(__name__)

# Rejected messages are kept a month, so that someone can look at them, fix the
# sender and replay them.
DEADLETTER_RETENTION_MS = 30 * 24 * 3600 * 1000


class TopicError(StreamsError):
    """The broker refused to create or describe a topic."""


def topic_plan(settings: Settings) -> dict[str, int]:
    """Return every topic the engine reads or writes, with its partitions."""
    plan = {name: settings.topic_partitions for name in settings.input_topics()}
    plan[settings.topic_deadletter] = settings.topic_partitions
    return plan


async def ensure_topics(
    bootstrap_servers: str,
    partitions_by_topic: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    A topic that exists keeps its partition count: changing it would move
    keys between partitions, so the engine never does it by itself.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name,
                num_partitions=count,
                replication_factor=1,
                topic_configs=dict((configs or {}).get(name, {})),
            )
            for name, count in partitions_by_topic.items()
            if name not in existing
        ]
        if wanted:
            await _create(admin, wanted)
            log.info("created topics: %s", ", ".join(t.name for t in wanted))
        return [topic.name for topic in wanted]
    except KafkaError as error:
        raise TopicError(
            f"cannot create topics on {bootstrap_servers}: {error!r}"
        ) from error
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> None:
    response = await admin.create_topics(topics)
    for name, code, *message in response.topic_errors:
        error = for_code(code)
        # Another worker may have created it between our listing and our request.
        if code != 0 and error is not TopicAlreadyExistsError:
            raise TopicError(f"cannot create topic {name}: {error.__name__} {message}")


async def ensure_engine_topics(settings: Settings) -> list[str]:
    """Create the input and dead-letter topics of ``settings`` if missing."""
    return await ensure_topics(
        settings.kafka_bootstrap_servers,
        topic_plan(settings),
        {settings.topic_deadletter: {"retention.ms": str(DEADLETTER_RETENTION_MS)}},
    )
