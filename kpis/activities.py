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

from kpis.events import ActivityLogged
from kpis.facts import Fact
from kpis.measures import Measure

_SLOT_SECONDS = 15 * 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE = Decimal(1)


@dataclass(slots=True)
class ActivityState:
    """The activity counts of one rep, by quarter hour, kind and outcome."""

    rep_id: str
    counts: dict[tuple[int, str, str], int] = field(default_factory=dict)

    def count(self, event: ActivityLogged) -> list[Fact]:
        """Count one activity; return the facts it adds to the sums."""
        kind, outcome = event.data.kind.value, event.data.outcome.value
        slot = int((event.time - _EPOCH).total_seconds()) // _SLOT_SECONDS
        key = (slot, kind, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1
        return _facts(self.rep_id, event.time, kind, outcome, _ONE)

    def facts(self) -> Iterator[Fact]:
        """Yield every count as facts, for a rebuild of the sums."""
        for (slot, kind, outcome), count in self.counts.items():
            at = _EPOCH + timedelta(seconds=slot * _SLOT_SECONDS)
            yield from _facts(self.rep_id, at, kind, outcome, Decimal(count))


def _facts(
    rep_id: str, at: datetime, kind: str, outcome: str, count: Decimal
) -> list[Fact]:
    return [
        Fact(Measure.ACTIVITIES, (rep_id, kind), count, at),
        Fact(Measure.ACTIVITY_OUTCOMES, (kind, outcome), count, at),
    ]
