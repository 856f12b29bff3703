"""The sums of facts, and the samples they make for each calendar window.

Flows and balances are summed by month (and by day for the measures that
show today and this week); a window sums the months it spans. A distinct
count is kept by the period of its own grain. Levels are plain sums. Each
entry also counts its addends, so that an entry whose every fact has been
retracted disappears, exactly as if it had never been added.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar

from kpis.facts import Fact, Labels, slot_of
from kpis.measures import Kind, Measure, Unit
from kpis.periods import DAILY_WINDOWS, PERIOD_WINDOWS, Calendar, Grain, Period, Window
from kpis.reference import ReferenceData

LabelPairs = tuple[tuple[str, str], ...]

_SeriesKey = tuple[Measure, Labels]
_MONTH = Grain.MONTH
_DAY = Grain.DAY
_DAILY = frozenset(measure for measure in Measure if measure.spec.daily)
# Measures whose facts are whole counts that may be grouped differently when
# added and when retracted (see _count).
_COUNTED = frozenset({Measure.ACTIVITIES, Measure.ACTIVITY_OUTCOMES})
# Measures also summed over the rolling windows below, by quarter hour.
_ROLLING = frozenset({Measure.WON_DEALS, Measure.WON_REVENUE, Measure.ACTIVITIES})
# The rolling windows and their length in quarter hours, the current one
# included: the last hour is the current quarter hour and the three before.
ROLLING_WINDOWS = {"last_hour": 4, "last_7_days": 7 * 24 * 4}
# Quarter hours older than the longest window are dropped, with this margin.
_SLOT_MARGIN = 4
K = TypeVar("K")
B = TypeVar("B")


class _Entry:
    """A sum and the number of facts in it."""

    __slots__ = ("addends", "total")

    def __init__(self, total: Decimal, addends: int) -> None:
        self.total = total
        self.addends = addends


class Sample(NamedTuple):
    """One exported value: a measure, its full label set and its value."""

    measure: Measure
    labels: LabelPairs
    value: Decimal


class Ledger:
    """Sums of facts by measure, labels and period."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self._months: dict[_SeriesKey, dict[int, _Entry]] = {}
        self._days: dict[_SeriesKey, dict[int, _Entry]] = {}
        self._distinct: dict[_SeriesKey, dict[tuple[Grain, int], _Entry]] = {}
        self._levels: dict[_SeriesKey, _Entry] = {}
        self._slots: dict[_SeriesKey, dict[int, _Entry]] = {}

    def add(self, facts: Iterable[Fact], sign: int = 1) -> None:
        """Add facts to the sums, or retract them with ``sign=-1``."""
        bucket = self.calendar.bucket
        # An entity's facts mostly share one instant (a deal's win): find the
        # month of each instant once.
        months: dict[datetime, int] = {}
        for measure, labels, value, at, grain in facts:
            key = (measure, labels)
            weight = sign * int(value) if measure in _COUNTED else sign
            amount = value if sign > 0 else -value
            if at is None:
                _count(self._levels, key, amount, weight)
            elif grain is not None:
                distinct = (grain, bucket(grain, at))
                _count_in(self._distinct, key, distinct, amount, weight)
            else:
                month = months.get(at)
                if month is None:
                    month = months[at] = bucket(_MONTH, at)
                _count_in(self._months, key, month, amount, weight)
                if measure in _ROLLING:
                    _count_in(self._slots, key, slot_of(at), amount, weight)
                if measure in _DAILY:
                    day = bucket(_DAY, at)
                    _count_in(self._days, key, day, amount, weight)

    def add_days(self, counts: Iterable[tuple[Measure, Labels, int, Decimal]]) -> None:
        """Add values already grouped by local day (a day bucket each)."""
        months_of_days: dict[int, int] = {}
        for measure, labels, day, value in counts:
            month = months_of_days.get(day)
            if month is None:
                local = date.fromordinal(day)
                month = months_of_days[day] = local.year * 12 + local.month - 1
            key = (measure, labels)
            weight = int(value)
            _count_in(self._months, key, month, value, weight)
            if measure in _DAILY:
                _count_in(self._days, key, day, value, weight)

    def add_slots(self, counts: Iterable[tuple[Measure, Labels, int, Decimal]]) -> None:
        """Add counts already grouped by quarter hour, for the rolling windows."""
        for measure, labels, slot, value in counts:
            _count_in(self._slots, (measure, labels), slot, value, int(value))

    def clear(self) -> None:
        """Forget every sum."""
        for sums in (self._months, self._days, self._distinct, self._slots):
            sums.clear()
        self._levels.clear()

    def samples(self, now: datetime, reference: ReferenceData) -> Iterator[Sample]:
        """Yield every sample at ``now``, windows anchored there."""
        windows = _WindowBuckets(self.calendar, now)
        for (measure, labels), entry in self._levels.items():
            yield _sample(measure, labels, (), entry.total, reference)
        for (measure, labels), months in self._months.items():
            if measure.spec.kind is Kind.BALANCE:
                yield from _balance_samples(measure, labels, months, windows, reference)
                continue
            for window, span in windows.months.items():
                total = _sum_range(months, span)
                if total is not None:
                    yield _sample(
                        measure, labels, (("window", window),), total, reference
                    )
        for (measure, labels), days in self._days.items():
            for window, span in windows.days.items():
                total = _sum_range(days, span)
                if total is not None:
                    yield _sample(
                        measure, labels, (("window", window),), total, reference
                    )
        yield from self._rolling_samples(now, reference)
        for (measure, labels), periods in self._distinct.items():
            for window, (grain, bucket) in windows.own_grain.items():
                period = periods.get((grain, bucket))
                if period is not None:
                    yield _sample(
                        measure, labels, (("window", window),), period.total, reference
                    )

    def _rolling_samples(
        self, now: datetime, reference: ReferenceData
    ) -> Iterator[Sample]:
        """Yield the last hour and the last 7 days, in quarter-hour steps."""
        current = slot_of(now)
        oldest_kept = current - max(ROLLING_WINDOWS.values()) - _SLOT_MARGIN
        for key, slots in list(self._slots.items()):
            for slot in [slot for slot in slots if slot < oldest_kept]:
                del slots[slot]
            if not slots:
                del self._slots[key]
        for (measure, labels), slots in self._slots.items():
            for window, length in ROLLING_WINDOWS.items():
                first = current - length + 1
                entries = [
                    entry.total
                    for slot, entry in slots.items()
                    if first <= slot <= current
                ]
                if entries:
                    total = sum(entries, Decimal(0))
                    pairs = (("window", window),)
                    yield _sample(measure, labels, pairs, total, reference)


class _WindowBuckets:
    """The buckets each window spans at one instant."""

    def __init__(self, calendar: Calendar, now: datetime) -> None:
        periods = calendar.windows(now)
        self.months: dict[str, range] = {
            window.value: _bucket_range(calendar, Grain.MONTH, periods[window])
            for window in PERIOD_WINDOWS
        }
        self.days: dict[str, range] = {
            window.value: _bucket_range(calendar, Grain.DAY, periods[window])
            for window in DAILY_WINDOWS
        }
        self.own_grain: dict[str, tuple[Grain, int]] = {
            window.value: (
                periods[window].grain,
                calendar.bucket(periods[window].grain, periods[window].start),
            )
            for window in PERIOD_WINDOWS
        }
        self.periods: Mapping[Window, Period] = periods


def _bucket_range(calendar: Calendar, grain: Grain, period: Period) -> range:
    last = period.end - timedelta(microseconds=1)
    return range(calendar.bucket(grain, period.start), calendar.bucket(grain, last) + 1)


def _sum_range(buckets: dict[int, _Entry], span: range) -> Decimal | None:
    """Return the sum over the buckets in ``span``; None when none has facts."""
    entries = [buckets[bucket] for bucket in span if bucket in buckets]
    if not entries:
        return None
    return sum((entry.total for entry in entries), Decimal(0))


def _balance_samples(
    measure: Measure,
    labels: Labels,
    months: dict[int, _Entry],
    windows: _WindowBuckets,
    reference: ReferenceData,
) -> Iterator[Sample]:
    """Yield a balance at the start and at the end of each window."""
    ordered = sorted(months.items())
    for window, span in windows.months.items():
        start = sum(
            (entry.total for bucket, entry in ordered if bucket < span.start),
            Decimal(0),
        )
        end = sum(
            (entry.total for bucket, entry in ordered if bucket < span.stop),
            Decimal(0),
        )
        for edge, value in (("start", start), ("end", end)):
            pairs = (("window", window), ("at", edge))
            yield _sample(measure, labels, pairs, value, reference)


def _sample(
    measure: Measure,
    labels: Labels,
    window: LabelPairs,
    value: Decimal,
    reference: ReferenceData,
) -> Sample:
    spec = measure.spec
    pairs = list(window)
    pairs.extend(zip(spec.labels, labels, strict=True))
    if "rep" in spec.labels:
        rep = reference.rep(labels[spec.labels.index("rep")])
        pairs.append(("team", rep.team))
        pairs.append(("region", rep.region))
    if spec.unit is Unit.MONEY:
        pairs.append(("currency", reference.rates.reporting_currency))
    return Sample(measure, tuple(pairs), value)


def _count(sums: dict[K, _Entry], key: K, value: Decimal, weight: int) -> None:
    """Add a signed ``value`` to an entry, dropping an entry left empty.

    ``weight`` is the change in the number of addends: one per fact, or, for
    counts kept in groups (activities), the count itself, so that a group
    added in one piece may be retracted in several and the other way round.
    """
    entry = sums.get(key)
    if entry is None:
        sums[key] = _Entry(value, weight)
        return
    entry.total += value
    entry.addends += weight
    if entry.addends == 0:
        del sums[key]


def _count_in(
    table: dict[_SeriesKey, dict[B, _Entry]],
    key: _SeriesKey,
    bucket: B,
    value: Decimal,
    weight: int,
) -> None:
    """Count a fact in one bucket of a series, dropping a series left empty."""
    buckets = table.get(key)
    if buckets is None:
        buckets = table[key] = {}
    _count(buckets, bucket, value, weight)
    if not buckets:
        del table[key]
