"""Rebuild a partition's state from the changelog topic.

The changelog is compacted and keyed by entity: it holds, for every entity a
partition owns, its latest state, and one record per counted activity. A
worker given a partition reads the changelog partition from its start to its
end, then folds on from the committed offsets of the input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from kpis.reference import ReferenceData
from kpis.snapshots import restore_state
from kpis.state import KpiState
from streams.config import Settings
from streams.kafka_security import kafka_client_options
from streams.metrics import EngineMetrics

log = logging.getLogger(__name__)

_RESTORE_BATCH = 20_000


async def restore_partitions(
    settings: Settings,
    reference: ReferenceData,
    partitions: Iterable[int],
    metrics: EngineMetrics,
) -> dict[int, KpiState]:
    """Read changelog ``partitions`` to their ends; return the states they hold."""
    wanted = [TopicPartition(settings.topic_changelog, p) for p in partitions]
    if not wanted:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        **kafka_client_options(settings),
    )
    await consumer.start()
    # Compaction may not have run yet: keep only each key's latest value.
    latest: dict[int, dict[bytes, bytes | None]] = {tp.partition: {} for tp in wanted}
    began = time.monotonic()
    try:
        consumer.assign(wanted)
        await consumer.seek_to_beginning(*wanted)
        ends = await consumer.end_offsets(wanted)
        for tp, end in ends.items():
            metrics.recovery_records.labels(partition=str(tp.partition)).set(end)
            metrics.recovery_position.labels(partition=str(tp.partition)).set(
                await consumer.position(tp)
            )
        remaining = {tp for tp in wanted if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(
                *remaining, timeout_ms=1000, max_records=_RESTORE_BATCH
            )
            for tp, records in batch.items():
                values = latest[tp.partition]
                for record in records:
                    if record.key is not None:
                        values[record.key] = record.value
            for tp in list(remaining):
                position = await consumer.position(tp)
                metrics.recovery_position.labels(partition=str(tp.partition)).set(
                    position
                )
                if position >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    states = {}
    for partition, values in latest.items():
        state = restore_state(reference, values.items())
        state.record_changes = True
        states[partition] = state
    log.info(
        "changelog read partitions=%s keys=%s seconds=%.2f",
        sorted(latest),
        sum(len(values) for values in latest.values()),
        time.monotonic() - began,
    )
    return states
