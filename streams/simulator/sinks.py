"""Where simulated messages go: Kafka topics, or a JSON-lines file.

The file holds one message per line. A well-formed event is written as the
exact bytes that would go to Kafka (its topic follows from its ``type``). A
malformed message (including a valid event on the wrong topic) is written as
a wrapper object ``{"topic": ..., "key": ..., "payload": ...}`` with the raw
payload as a JSON string, or ``"payload_base64"`` when it is not UTF-8;
:func:`parse_line` reads both forms back.
"""

import asyncio
import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol, Self

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaError,
)

from kpis.events import Feed
from streams.simulator.errors import SimulatorError
from streams.simulator.faults import Message
from streams.topics import TopicError, ensure_topics

logger = logging.getLogger(__name__)

_PENDING_LIMIT = 2000


class Sink(Protocol):
    """Something that takes messages and keeps them."""

    async def start(self) -> None:
        """Connect, create what is missing."""

    async def send(self, message: Message) -> None:
        """Hand over one message; it may be buffered until :meth:`stop`."""

    async def stop(self) -> None:
        """Flush every buffered message and release the resources."""


class _Wrapper(msgspec.Struct, omit_defaults=True):
    topic: str
    key: str | None = None
    payload: str | None = None
    payload_base64: str | None = None


@dataclass(frozen=True)
class FileRecord:
    """One line of a simulator file: the topic, if written, and the payload."""

    topic: str | None
    key: bytes | None
    payload: bytes


def parse_line(line: bytes) -> FileRecord:
    """Read one line of a simulator file back into its topic, key and payload."""
    line = line.rstrip(b"\r\n")
    if line.startswith(b'{"topic":'):
        try:
            wrapper = msgspec.json.decode(line, type=_Wrapper)
        except msgspec.DecodeError:
            return FileRecord(None, None, line)
        if wrapper.payload_base64 is not None:
            payload = base64.b64decode(wrapper.payload_base64)
        else:
            payload = (wrapper.payload or "").encode()
        key = wrapper.key.encode() if wrapper.key is not None else None
        return FileRecord(wrapper.topic, key, payload)
    return FileRecord(None, None, line)


class FileSink:
    """Write messages to a JSON-lines file, one message per line."""

    def __init__(self, path: Path, topics: Mapping[Feed, str]) -> None:
        self.path = path
        self.topics = dict(topics)
        self._file: IO[bytes] | None = None

    async def start(self) -> None:
        """Open (and truncate) the file."""
        try:
            self._file = self.path.open("wb")
        except OSError as error:
            raise SimulatorError(f"cannot write {self.path}: {error}") from error

    async def send(self, message: Message) -> None:
        """Write one line."""
        if self._file is None:
            raise SimulatorError("the file sink was not started")
        self._file.write(self._line(message))

    async def stop(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _line(self, message: Message) -> bytes:
        if message.reject is None:
            return message.value + b"\n"
        wrapper = _Wrapper(self.topics[message.feed], message.key.decode())
        try:
            wrapper.payload = message.value.decode()
        except UnicodeDecodeError:
            wrapper.payload_base64 = base64.b64encode(message.value).decode()
        return msgspec.json.encode(wrapper) + b"\n"


class KafkaSink:
    """Produce messages to each feed's topic, keyed by the event's entity."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Mapping[Feed, str],
        *,
        partitions: int = 8,
        linger_ms: int = 20,
    ) -> None:
        """Prepare a producer; nothing connects before :meth:`start`.

        Args:
            bootstrap_servers: Kafka brokers, ``host:port[,host:port...]``.
            topics: the topic of each feed.
            partitions: partitions of each topic created when it is missing.
            linger_ms: how long the producer waits to fill a batch.
        """
        self.bootstrap_servers = bootstrap_servers
        self.topics = dict(topics)
        self.partitions = partitions
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="salespulse-simulator",
            linger_ms=linger_ms,
            max_batch_size=256 * 1024,
            max_request_size=4 * 1024 * 1024,
            acks="all",
        )
        self._pending: list[asyncio.Future[object]] = []

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Create the missing topics, then connect the producer."""
        try:
            await ensure_topics(
                self.bootstrap_servers,
                dict.fromkeys(self.topics.values(), self.partitions),
            )
            await self._producer.start()
        except (KafkaError, TopicError) as error:
            raise SimulatorError(
                f"cannot reach Kafka at {self.bootstrap_servers}: {error}"
            ) from error
        logger.info(
            "producing to Kafka servers=%s topics=%s",
            self.bootstrap_servers,
            ",".join(self.topics.values()),
        )

    async def send(self, message: Message) -> None:
        """Queue one message; wait for the queued ones now and then."""
        topic = self.topics[message.feed]
        future = await self._producer.send(topic, message.value, key=message.key)
        self._pending.append(future)
        if len(self._pending) >= _PENDING_LIMIT:
            await self._settle()

    async def stop(self) -> None:
        """Flush, wait for every acknowledgement, disconnect."""
        try:
            await self._producer.flush()
            await self._settle()
        finally:
            await self._producer.stop()

    async def _settle(self) -> None:
        pending, self._pending = self._pending, []
        try:
            await asyncio.gather(*pending)
        except KafkaError as error:
            raise SimulatorError(f"Kafka refused a message: {error}") from error
