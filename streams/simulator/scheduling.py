"""The clock of the simulated business: a queue of happenings in time order.

``Scheduler`` holds the one seeded random generator, the queue of actions
ordered by simulated time, the identifier counters, and the helpers that turn
data into CloudEvents; the parts of the simulation build on it.
"""

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from random import Random
from typing import TypeVar

from kpis import events as ev
from streams.simulator.company import Company

T = TypeVar("T")
Action = Callable[[datetime], list[ev.Event]]

_CENT = Decimal("0.01")
_SOURCES = {
    ev.Feed.DEALS: "crm/simulator",
    ev.Feed.ACTIVITIES: "crm/simulator",
    ev.Feed.LEADS: "marketing/simulator",
    ev.Feed.SUBSCRIPTIONS: "billing/simulator",
    ev.Feed.COSTS: "finance/simulator",
}


@dataclass(frozen=True)
class Rates:
    """How often things happen, in simulated days."""

    activities_per_rep_per_day: float = 12.0
    direct_deals_per_day: float = 6.0
    account_deals_per_day: float = 2.0
    lead_conversion_chance: float = 0.3
    days_to_convert: float = 6.0
    days_per_stage: float = 4.0
    days_to_contract: float = 240.0
    days_to_cancel: float = 900.0
    reactivation_chance: float = 0.35
    days_to_reactivate: float = 40.0
    # (team, share): the team wins only this share of the deals it would
    # have won, to drive its pace below target; the other teams sell as usual.
    team_pace: tuple[tuple[str, float], ...] = ()


DEFAULT_RATES = Rates()


class Scheduler:
    """Seeded randomness, the queue of happenings and the making of events."""

    def __init__(
        self, company: Company, *, seed: int, start: datetime, rates: Rates
    ) -> None:
        """Start an empty queue; ``seed`` fixes every later random draw."""
        self.company = company
        self.start = start
        self.rates = rates
        self._random = Random(seed)
        self._queue: list[tuple[datetime, int, Action]] = []
        self._sequence = itertools.count()
        self._counters: dict[str, itertools.count[int]] = {}

    def events(self) -> Iterator[ev.Event]:
        """Yield the events in time order, for ever (limit them outside)."""
        while self._queue:
            time, _, action = heapq.heappop(self._queue)
            yield from action(time)

    def _at(self, time: datetime, action: Action) -> None:
        heapq.heappush(self._queue, (time, next(self._sequence), action))

    def _after_days(self, time: datetime, mean_days: float) -> datetime:
        days = self._random.expovariate(1.0 / mean_days)
        return to_millisecond(max(time, self.start) + timedelta(days=days))

    def _next_id(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}-{next(counter):06d}"

    def _event(self, kind: Callable[..., T], time: datetime, data: object) -> T:
        feed = ev.EVENT_TYPES[kind.__struct_config__.tag]  # type: ignore[attr-defined]
        event_id = uuid.UUID(int=self._random.getrandbits(128), version=4)
        return kind(
            specversion=ev.SPECVERSION,
            id=str(event_id),
            source=_SOURCES[feed],
            time=time,
            data=data,
        )

    def _money(self, value: Decimal | float) -> Decimal:
        return Decimal(value).quantize(_CENT)

    def _past(self, most_days: float, fewest_days: float = 0.0) -> datetime:
        days = self._random.uniform(fewest_days, most_days)
        return to_millisecond(self.start - timedelta(days=days))


def to_millisecond(time: datetime) -> datetime:
    """Drop the microseconds below a millisecond, as the events carry them."""
    return time.replace(microsecond=time.microsecond // 1000 * 1000)
