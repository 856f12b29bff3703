"""Turn events into messages, adding the faults of real systems when asked.

A fault share is a fraction of the simulated events: with ``duplicates=0.02``
about 2 in 100 events are sent a second time (the same bytes, minutes to
hours later); with ``late=0.02`` about 2 in 100 are held back and sent one hour
to three days after their ``time``; with ``malformed=0.02`` about 2 in 100
events are followed by a broken message. Broken messages cycle through every
:class:`~kpis.events.RejectReason`, each built from the event it follows, and
carry the reason the engine must give them.
"""

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random
from typing import Any

import msgspec

from kpis.events import (
    DEFAULT_MAX_BYTES,
    EVENT_TYPES,
    Event,
    Feed,
    RejectReason,
    encode_event,
    partition_key,
)
from streams.simulator.errors import SimulatorError

# Every reason a broken message can be given by decoding; too_late is the
# engine's, for valid events older than its late-event horizon.
DECODING_REASONS = tuple(r for r in RejectReason if r is not RejectReason.TOO_LATE)


class Fault(StrEnum):
    """What is wrong with a message, if anything."""

    DUPLICATE = "duplicate"
    LATE = "late"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Message:
    """One message for a feed's topic, at the simulated time it is sent."""

    feed: Feed
    key: bytes
    value: bytes
    sent: datetime
    fault: Fault | None = None
    reject: RejectReason | None = None


@dataclass(frozen=True)
class FaultShares:
    """The share of events sent twice, sent late, or followed by a broken one."""

    duplicates: float = 0.0
    late: float = 0.0
    malformed: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicates", "late", "malformed"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise SimulatorError(f"{name}={share!r}: expected a share from 0 to 1")


def messages(
    events: Iterable[Event],
    shares: FaultShares = FaultShares(),
    *,
    seed: int = 0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[Message]:
    """Yield the messages that carry ``events``, with the faults asked for.

    Args:
        events: events in time order.
        shares: how often each fault happens.
        seed: the seed of the fault draws, for reproducible runs.
        max_bytes: the size limit an oversized message must exceed.
    """
    injector = _Injector(shares, Random(seed), max_bytes)
    for event in events:
        yield from injector.send(event)
    yield from injector.flush()


class _Injector:
    def __init__(self, shares: FaultShares, random: Random, max_bytes: int) -> None:
        self._shares = shares
        self._random = random
        self._max_bytes = max_bytes
        self._held: list[tuple[datetime, int, Message]] = []
        self._sequence = itertools.count()
        self._clock: datetime | None = None
        self._breakages = itertools.cycle(DECODING_REASONS)

    def send(self, event: Event) -> Iterator[Message]:
        clock = event.time if self._clock is None else max(self._clock, event.time)
        self._clock = clock
        yield from self._release(clock)

        message = Message(event.feed, partition_key(event), encode_event(event), clock)
        if self._chance(self._shares.late):
            delay = timedelta(hours=self._random.uniform(1, 72))
            self._hold(max(clock, event.time + delay), message, Fault.LATE)
        else:
            yield message
        if self._chance(self._shares.duplicates):
            delay = timedelta(minutes=self._random.uniform(1, 360))
            self._hold(clock + delay, message, Fault.DUPLICATE)
        if self._chance(self._shares.malformed):
            yield self._break(message, next(self._breakages))

    def flush(self) -> Iterator[Message]:
        while self._held:
            yield heapq.heappop(self._held)[2]

    def _chance(self, share: float) -> bool:
        return share > 0 and self._random.random() < share

    def _hold(self, until: datetime, message: Message, fault: Fault) -> None:
        held = Message(message.feed, message.key, message.value, until, fault)
        heapq.heappush(self._held, (until, next(self._sequence), held))

    def _release(self, clock: datetime) -> Iterator[Message]:
        while self._held and self._held[0][0] <= clock:
            yield heapq.heappop(self._held)[2]

    def _break(self, message: Message, reason: RejectReason) -> Message:
        feed = message.feed
        value = message.value
        if reason is RejectReason.NOT_JSON:
            value = value[: len(value) // 2]
        elif reason is RejectReason.WRONG_TOPIC:
            feeds = list(Feed)
            feed = feeds[(feeds.index(feed) + 1) % len(feeds)]
        else:
            document = msgspec.json.decode(value)
            _BREAKERS[reason](document, self._max_bytes)
            value = msgspec.json.encode(document)
            feed = EVENT_TYPES.get(document.get("type", ""), feed)
        return Message(feed, message.key, value, message.sent, Fault.MALFORMED, reason)


def _drop_specversion(document: dict[str, Any], _: int) -> None:
    del document["specversion"]


def _rename_type(document: dict[str, Any], _: int) -> None:
    document["type"] = document["type"].split(".")[0] + ".archived"


def _drop_first_field(document: dict[str, Any], _: int) -> None:
    data = document["data"]
    del data[next(iter(data))]


def _garble_first_field(document: dict[str, Any], _: int) -> None:
    data = document["data"]
    data[next(iter(data))] = 12345


def _unknown_currency(document: dict[str, Any], max_bytes: int) -> None:
    if "currency" not in document["data"]:
        _money_event(document)
    document["data"]["currency"] = "XYZ"


def _negative_amount(document: dict[str, Any], max_bytes: int) -> None:
    if "currency" not in document["data"]:
        _money_event(document)
    data = document["data"]
    field = "mrr" if "mrr" in data else "amount"
    data[field] = -abs(data[field]) - 1


def _oversize(document: dict[str, Any], max_bytes: int) -> None:
    document["data"]["notes"] = "x" * (max_bytes + 1)


def _money_event(document: dict[str, Any]) -> None:
    """Turn an event without an amount into a deal.quote_sent of the same id."""
    document["type"] = "deal.quote_sent"
    document["data"] = {
        "deal_id": "D-broken",
        "quote_id": "Q-broken",
        "amount": 100,
        "currency": "USD",
    }


_BREAKERS: dict[RejectReason, Callable[[dict[str, Any], int], None]] = {
    RejectReason.NOT_CLOUDEVENTS: _drop_specversion,
    RejectReason.UNKNOWN_TYPE: _rename_type,
    RejectReason.MISSING_FIELD: _drop_first_field,
    RejectReason.INVALID_FIELD: _garble_first_field,
    RejectReason.UNKNOWN_CURRENCY: _unknown_currency,
    RejectReason.NEGATIVE_AMOUNT: _negative_amount,
    RejectReason.OVERSIZED: _oversize,
}
