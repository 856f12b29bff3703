"""The live engine's hot path: Kafka batches folded into partition states.

One consumer in the worker's group reads every input topic and the
repartition topic. All of them have the same number of partitions and the
range assignor gives a worker the same partition numbers of each, so the
worker that owns partition *p* owns every entity whose id hashes to *p*, and
the state of those entities alone (a :class:`~kpis.state.KpiState` per
partition, all summed into one ledger).

Each batch is handled in four steps:

1. decode and validate each message (a reject goes to the dead-letter topic);
2. fold it into its partition's state, or forward it to the partition that
   owns its entity, and route the links the fold produced;
3. write the entities the batch touched to the changelog topic;
4. once Kafka has acknowledged every record written, commit the batch's
   offsets.

A crash anywhere before step 4 replays the batch; folding is idempotent, so
the replay changes nothing that was already written. A worker given a
partition rebuilds its state from the changelog before it reads on.

Why not a Faust agent: faust-streaming's agent loop spends tens of
microseconds of event-loop work per message (a task and a queue hand-off per
event), which caps it near 9,000 events per second here; a batch loop over
aiokafka's ``getmany`` leaves the time to the fold. Faust hosts the worker
(``streams/worker.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.structs import ConsumerRecord, TopicPartition

from kpis.events import (
    Event,
    Feed,
    InvalidEvent,
    check_horizon,
    decode_event,
    partition_key,
)
from kpis.ledger import Ledger
from kpis.links import Link, link_key
from kpis.periods import Grain
from kpis.reference import ReferenceData
from kpis.snapshots import encode_activity, entity_key, entity_record
from kpis.state import KpiState
from streams.changelog import restore_partitions
from streams.config import Settings
from streams.deadletter import deadletter_headers
from streams.kafka_security import kafka_client_options
from streams.metrics import EngineMetrics
from streams.partitioning import Partitioner
from streams.repartition import (
    RepartitionError,
    decode_record,
    encode_link,
    forwarded,
)

log = logging.getLogger(__name__)

# One batch is at most this many records: big enough to amortise the
# per-batch work (changelog, commit), small enough to keep latency low.
MAX_BATCH = 5_000
# Longest wait between two sends of a batch the broker did not take.
MAX_SEND_BACKOFF_SECONDS = 10.0


@dataclass
class Outgoing:
    """Records a batch writes, sent together before its offsets are committed."""

    records: list[tuple[str, bytes | None, bytes, int | None, list[Any]]] = field(
        default_factory=list
    )

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        headers: list[Any] | None = None,
    ) -> None:
        """Queue one record."""
        self.records.append((topic, key, value, partition, headers or []))


class Engine:
    """Consume, fold, write the changelog, commit: batch after batch."""

    def __init__(
        self,
        settings: Settings,
        reference: ReferenceData,
        metrics: EngineMetrics,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.reference = reference
        self.metrics = metrics
        self.on_change = on_change
        self.feeds = settings.input_topics()
        self.partitioner = Partitioner(settings.topic_partitions)
        self.ledger = Ledger(reference.calendar)
        self.states: dict[int, KpiState] = {}
        # Partitions revoked by a rebalance that may come straight back.
        self._parked: dict[int, KpiState] = {}
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._now = self._month_start = datetime.now(UTC)
        self._out = Outgoing()

    # Life cycle -----------------------------------------------------------

    async def start(self) -> None:
        """Connect to Kafka and join the consumer group."""
        settings = self.settings
        security = kafka_client_options(settings)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            **security,
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=settings.max_event_bytes * 4,
            acks="all",
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.app_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
            **security,
        )
        await self._consumer.start()
        topics = [*self.feeds, settings.topic_repartition]
        self._consumer.subscribe(topics, listener=_Rebalance(self))
        log.info("engine started group=%s topics=%s", settings.app_id, ",".join(topics))

    async def stop(self) -> None:
        """Finish the batch at hand, leave the group, close the connections."""
        self._stopping.set()
        async with self._lock:
            if self._consumer is not None:
                await self._consumer.stop()
            if self._producer is not None:
                await self._producer.stop()
        log.info("engine stopped")

    async def run(self) -> None:
        """Process batches until :meth:`stop`."""
        consumer = self._consumer
        if consumer is None:
            raise RuntimeError("Engine.run() before Engine.start()")
        while not self._stopping.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=MAX_BATCH)
            if batch and not self._stopping.is_set():
                await self.process(batch)

    async def set_reference(self, reference: ReferenceData) -> None:
        """Recompute every sum under new reference data, between two batches."""
        async with self._lock:
            self.reference = reference
            self.ledger = Ledger(reference.calendar)
            for state in self.states.values():
                state.rebuild(reference, self.ledger)
        self.on_change()

    # One batch ------------------------------------------------------------

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Fold one batch, write what it changed, then commit its offsets."""
        async with self._lock:
            self._now = now = datetime.now(UTC)
            self._month_start = self.reference.calendar.period(Grain.MONTH, now).start
            self._out = outgoing = Outgoing()
            touched: set[int] = set()
            for tp, records in batch.items():
                state = self.states.get(tp.partition)
                if state is None:
                    continue  # revoked while the batch was fetched
                touched.add(tp.partition)
                if tp.topic == self.settings.topic_repartition:
                    self._handle_repartitioned(tp.partition, state, records)
                else:
                    self._handle_input(tp, state, records)
            for partition in touched:
                self._write_changes(partition, self.states[partition])
            await self._deliver(outgoing)
            await self._commit(batch)
            self.metrics.flush(now.timestamp())
            self._record_lag(batch)
            self.metrics.batches.inc()
        self.on_change()

    def _handle_input(
        self,
        tp: TopicPartition,
        state: KpiState,
        records: Iterable[ConsumerRecord],
    ) -> None:
        feed = self.feeds[tp.topic]
        max_bytes = self.settings.max_event_bytes
        partition_of = self.partitioner.partition_of
        for record in records:
            try:
                event = decode_event(record.value, feed=feed, max_bytes=max_bytes)
            except InvalidEvent as error:
                self._reject(record, error)
                continue
            key = partition_key(event)
            target = partition_of(key)
            if target != tp.partition:
                self._out.add(
                    self.settings.topic_repartition,
                    key,
                    record.value,
                    target,
                    forwarded(feed),
                )
                self.metrics.forwarded.labels(topic=tp.topic).inc()
                continue
            self._fold(tp.partition, state, event, tp.topic, record)

    def _handle_repartitioned(
        self,
        partition: int,
        state: KpiState,
        records: Iterable[ConsumerRecord],
    ) -> None:
        max_bytes = self.settings.max_event_bytes
        for record in records:
            try:
                carried = decode_record(record.value, list(record.headers))
            except RepartitionError as error:
                log.warning("skipping record offset=%s: %s", record.offset, error)
                continue
            if not isinstance(carried, Feed):
                self._route(partition, state, state.apply(carried))
                continue
            topic = self.settings.topic_for(carried)
            try:
                event = decode_event(record.value, feed=carried, max_bytes=max_bytes)
            except InvalidEvent as error:  # validated before it was forwarded
                self._reject(record, error, topic)
                continue
            self._fold(partition, state, event, topic, record)

    def _fold(
        self,
        partition: int,
        state: KpiState,
        event: Event,
        topic: str,
        record: ConsumerRecord,
    ) -> None:
        try:
            check_horizon(event, self._now, self.settings.late_event_horizon_days)
            links = state.fold(event)
        except InvalidEvent as error:
            self._reject(record, error, topic)
            return
        self.metrics.folded(topic, event, self._month_start)
        if links:
            self._route(partition, state, links)

    def _route(self, partition: int, state: KpiState, links: list[Link]) -> None:
        """Apply links to this partition's entities, send the others on."""
        pending = list(links)
        while pending:
            link = pending.pop()
            target_id = link_key(link)[1].encode()
            target = self.partitioner.partition_of(target_id)
            if target == partition:
                pending.extend(state.apply(link))
            else:
                value, headers = encode_link(link)
                self._out.add(
                    self.settings.topic_repartition, target_id, value, target, headers
                )

    def _reject(
        self,
        record: ConsumerRecord,
        error: InvalidEvent,
        topic: str | None = None,
    ) -> None:
        topic = topic or record.topic
        self.metrics.rejected.labels(topic=topic, reason=error.reason.value).inc()
        headers = deadletter_headers(
            error, topic, record.partition, record.offset, list(record.headers)
        )
        self._out.add(
            self.settings.topic_deadletter, record.key, record.value, None, headers
        )

    def _write_changes(self, partition: int, state: KpiState) -> None:
        changes = state.refresh()
        changelog = self.settings.topic_changelog
        for entity in changes.entities:
            key, value = entity_record(entity)
            self._out.add(changelog, key, value, partition)
        for activity in changes.activities:
            self._out.add(
                changelog,
                entity_key("activity", activity.event_id),
                encode_activity(
                    activity.rep_id, activity.slot, activity.kind, activity.outcome
                ),
                partition,
            )

    async def _deliver(self, outgoing: Outgoing) -> None:
        """Send a batch's records, again while the broker does not take them.

        A broker down for longer than the producer's request timeout (40 s)
        fails the send with a retriable error (``LeaderNotAvailableError``);
        raised, it stopped the worker, which then had to be restarted by
        hand. Sending the same records again is safe: a record written twice
        is the same changelog value, forwarded event or link, which
        compaction and the idempotent fold absorb (a reject may reach the
        dead-letter topic twice; it is counted once).
        """
        delay = 0.5
        while True:
            try:
                await self._send(outgoing)
                return
            except KafkaError as error:
                transient = error.retriable or isinstance(error, KafkaTimeoutError)
                if not transient or self._stopping.is_set():
                    raise
                log.warning("sending a batch failed; again in %.1f s: %r", delay, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_SEND_BACKOFF_SECONDS)

    async def _send(self, outgoing: Outgoing) -> None:
        """Send a batch's records, one record batch per topic and partition.

        Building record batches ourselves costs a few microseconds a record,
        where ``send()`` costs ten times as much; records without a partition
        (the dead-letter copies, few) go through ``send()``.
        """
        producer = self._producer
        if producer is None or not outgoing.records:
            return
        futures = []
        batches: dict[tuple[str, int], Any] = {}
        for topic, key, value, partition, headers in outgoing.records:
            if partition is None:
                futures.append(
                    await producer.send(topic, value, key=key, headers=headers)
                )
                continue
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[topic, partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers):
                continue
            # Full: send it and start the next one with this record.
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = batches[topic, partition] = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None, headers=headers)
        for (topic, partition), batch in batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    async def _commit(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        offsets = {
            tp: records[-1].offset + 1
            for tp, records in batch.items()
            if records and tp in assigned
        }
        if offsets:
            await consumer.commit(offsets)

    def _record_lag(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for tp, records in batch.items():
            highwater = consumer.highwater(tp)
            if records and highwater is not None:
                lag = highwater - records[-1].offset - 1
                self.metrics.lag.labels(
                    topic=tp.topic, partition=str(tp.partition)
                ).set(lag)

    # Rebalancing ----------------------------------------------------------

    async def revoke(self, partitions: set[int]) -> None:
        """Stop exporting partitions: their sums leave this worker at once.

        The states are kept aside: a rebalance revokes every partition before
        it assigns the new set, and a partition that comes straight back needs
        no restore.
        """
        async with self._lock:
            for partition in sorted(partitions):
                state = self.states.pop(partition, None)
                if state is not None:
                    state.retract_all()
                    self._parked[partition] = state
                    self.metrics.owned.labels(partition=str(partition)).set(0)
            log.info("partitions revoked: %s", sorted(partitions))
        self.on_change()

    async def assign(self, partitions: set[int]) -> None:
        """Take partitions: a new one is rebuilt from the changelog first."""
        async with self._lock:
            parked, self._parked = self._parked, {}
            new = partitions - set(self.states)
            restored = await self._restore(new - set(parked))
            for partition in sorted(new):
                state = parked.pop(partition, None)
                if state is None:
                    state = restored[partition]
                    state.rebuild(self.reference, self.ledger)
                else:
                    state.add_all()
                self.states[partition] = state
                self.metrics.owned.labels(partition=str(partition)).set(1)
            log.info(
                "partitions assigned: %s (kept %s, dropped %s)",
                sorted(partitions),
                sorted(partitions - set(parked)),
                sorted(parked),
            )
        self.on_change()

    async def _restore(self, partitions: set[int]) -> dict[int, KpiState]:
        began = time.monotonic()
        states = await restore_partitions(
            self.settings, self.reference, sorted(partitions), self.metrics
        )
        if states:
            log.info(
                "partitions restored partitions=%s seconds=%.2f",
                sorted(states),
                time.monotonic() - began,
            )
        return states


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hand the group's decisions to the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.engine.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.engine.assign({tp.partition for tp in assigned})
