"""Facts: what an entity adds to the sums, and the order of its events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from kpis.measures import Measure
from kpis.periods import Grain

Labels = tuple[str, ...]

# An event's place in the order that decides "the latest": its business time,
# then its id, so that ties resolve the same way in every replay.
Stamp = tuple[datetime, str]

# The label value of a dimension an entity does not know yet (a won deal whose
# deal.created has not arrived has no rep, product or channel).
UNKNOWN = "unknown"

CENT = Decimal("0.01")

# Activities are kept, and rolling windows summed, by quarter hour: every time
# zone in use is offset from UTC by a whole number of quarter hours.
SLOT_SECONDS = 15 * 60


class Fact(NamedTuple):
    """One addend of one measure.

    Attributes:
        measure: what is added to.
        labels: the values of the measure's labels, in the measure's order.
        value: the amount, count or seconds added.
        at: when it happened, for flows and balances; None for levels.
        grain: set for a distinct count, which is added to the one period of
            that grain holding ``at`` (an account paying twice in a quarter is
            one account in the quarter, one in each month).
    """

    measure: Measure
    labels: Labels
    value: Decimal
    at: datetime | None = None
    grain: Grain | None = None


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Return the whole seconds from ``start`` to ``end`` (never negative)."""
    return Decimal(max(int((end - start).total_seconds()), 0))


def slot_of(at: datetime) -> int:
    """Return the quarter hour since the epoch that holds the instant ``at``."""
    return int(at.timestamp()) // SLOT_SECONDS
