"""A rep's activities, counted by kind and outcome.

An activity never changes once logged, so its counts go straight into the
sums; the rep keeps them by quarter hour as well, which is enough to rebuild
the sums under another calendar: every time zone in use is offset from UTC by
a whole number of quarter hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kpis.facts import SLOT_SECONDS, Fact, slot_of
from kpis.measures import Measure

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class ActivityState:
    """The activity counts of one rep, by quarter hour, kind and outcome."""

    rep_id: str
    counts: dict[tuple[int, str, str], int] = field(default_factory=dict)

    def count(self, at: datetime, kind: str, outcome: str) -> int:
        """Count one activity of ``kind`` with ``outcome``; return its slot."""
        slot = slot_of(at)
        key = (slot, kind, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1
        return slot

    def facts(self) -> Iterator[Fact]:
        """Yield every count as facts, for a rebuild of the sums."""
        for (slot, kind, outcome), count in self.counts.items():
            at = _EPOCH + timedelta(seconds=slot * SLOT_SECONDS)
            yield from _facts(self.rep_id, at, kind, outcome, Decimal(count))


def _facts(
    rep_id: str, at: datetime, kind: str, outcome: str, count: Decimal
) -> list[Fact]:
    return [
        Fact(Measure.ACTIVITIES, (rep_id, kind), count, at),
        Fact(Measure.ACTIVITY_OUTCOMES, (kind, outcome), count, at),
    ]


class ActivityCounts:
    """Activities counted since the sums last took them, by local day.

    Most activities share their day, rep, kind and outcome with others, so
    handing the sums one count per such group instead of one per activity is
    what keeps a replay fast.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, int], int] = {}
        self._recent: dict[tuple[str, str, int], int] = {}

    def add(self, rep_id: str, kind: str, outcome: str, day: int, slot: int) -> None:
        """Count one activity of ``rep_id`` on local day ``day``, quarter hour
        ``slot`` (for the rolling windows)."""
        key = (rep_id, kind, outcome, day)
        self._counts[key] = self._counts.get(key, 0) + 1
        recent = (rep_id, kind, slot)
        self._recent[recent] = self._recent.get(recent, 0) + 1

    def take_slots(self) -> Iterator[tuple[Measure, tuple[str, ...], int, Decimal]]:
        """Yield (measure, labels, quarter hour, count) groups, and forget them."""
        recent, self._recent = self._recent, {}
        for (rep_id, kind, slot), count in recent.items():
            yield Measure.ACTIVITIES, (rep_id, kind), slot, Decimal(count)

    def take(self) -> Iterator[tuple[Measure, tuple[str, ...], int, Decimal]]:
        """Yield (measure, labels, day, count) for each group, and forget them."""
        counts, self._counts = self._counts, {}
        for (rep_id, kind, outcome, day), count in counts.items():
            value = Decimal(count)
            yield Measure.ACTIVITIES, (rep_id, kind), day, value
            yield Measure.ACTIVITY_OUTCOMES, (kind, outcome), day, value

    def clear(self) -> None:
        """Forget the counts not yet taken."""
        self._counts.clear()
        self._recent.clear()
