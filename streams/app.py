"""The Faust application: consume every input topic, validate, count.

This first worker proves the contract end to end: each message of each input
topic is decoded and validated, counted by type when valid, and otherwise
sent with its reason to the dead-letter topic. The KPI state is not folded
here yet.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust

from kpis.events import InvalidEvent, decode_event
from streams.config import Settings
from streams.deadletter import deadletter_headers
from streams.metrics import EngineMetrics

log = logging.getLogger(__name__)


def create_app(settings: Settings, metrics: EngineMetrics) -> faust.App:
    """Build the Faust app with its validating agent."""
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        processing_guarantee=settings.processing_guarantee,
        producer_max_request_size=settings.max_event_bytes * 4,
    )
    feeds = settings.input_topics()
    inputs = app.topic(
        *feeds,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    deadletter = app.topic(
        settings.topic_deadletter, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(inputs, name="validate")
    async def validate(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            topic = message.topic
            metrics.last_consumed.labels(topic=topic).set(time.time())
            try:
                decoded = decode_event(
                    message.value,
                    feed=feeds[topic],
                    max_bytes=settings.max_event_bytes,
                )
            except InvalidEvent as error:
                metrics.rejected.labels(topic=topic, reason=error.reason.value).inc()
                await deadletter.send(
                    key=message.key,
                    value=message.value,
                    headers=deadletter_headers(
                        error,
                        topic,
                        message.partition,
                        message.offset,
                        _headers_of(message),
                    ),
                )
                log.debug("rejected topic=%s reason=%s", topic, error.reason)
                continue
            metrics.consumed.labels(topic=topic, type=decoded.type).inc()

    return app


def _headers_of(message: Any) -> list[tuple[str, bytes]]:
    headers = message.headers or []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)
