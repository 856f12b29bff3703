"""Rebuild a partition's state from the changelog topic.

The changelog is compacted and keyed by entity: it holds, for every entity a
partition owns, its latest state, and one record per counted activity. A
worker given a partition reads the changelog partition from its start to its
end, then folds on from the committed offsets of the input.
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from kpis.reference import ReferenceData
from kpis.snapshots import restore_state
from kpis.state import KpiState
from streams.config import Settings
from streams.metrics import EngineMetrics

log = logging.getLogger(__name__)

_RESTORE_BATCH = 20_000


async def restore_partition(
    settings: Settings,
    reference: ReferenceData,
    partition: int,
    metrics: EngineMetrics,
) -> KpiState:
    """Read changelog ``partition`` to its end and return the state it holds."""
    tp = TopicPartition(settings.topic_changelog, partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    # Compaction may not have run yet: keep only each key's latest value.
    latest: dict[bytes, bytes | None] = {}
    label = str(partition)
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        metrics.recovery_records.labels(partition=label).set(end)
        position = await consumer.position(tp)
        began = time.monotonic()
        while position < end:
            batch = await consumer.getmany(
                tp, timeout_ms=1000, max_records=_RESTORE_BATCH
            )
            for record in batch.get(tp, ()):
                if record.key is not None:
                    latest[record.key] = record.value
            position = await consumer.position(tp)
            metrics.recovery_position.labels(partition=label).set(position)
    finally:
        await consumer.stop()
    state = restore_state(reference, latest.items())
    state.record_changes = True
    log.debug(
        "changelog read partition=%s records=%s keys=%s seconds=%.2f",
        partition,
        end,
        len(latest),
        time.monotonic() - began,
    )
    return state
