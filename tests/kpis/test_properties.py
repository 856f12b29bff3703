"""Properties of the fold that make live numbers trustworthy.

For random realistic streams (the simulator's, from a random seed and
length): duplicates and any arrival order change nothing; a stream split by
key over several states, each exporting its own sums, adds up to the sums of
one state; and refreshing the sums between batches gives what one refresh at
the end gives.
"""

from __future__ import annotations

import itertools
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.events import Event, partition_key
from kpis.ledger import Ledger, Sample
from kpis.links import Link, link_key
from kpis.measures import Measure
from kpis.money import ExchangeRates
from kpis.reference import ReferenceData
from kpis.state import KpiState
from streams.simulator.company import default_company
from streams.simulator.model import Simulation

START = datetime(2026, 9, 1, tzinfo=UTC)
# The simulated company sells in dollars and, in EMEA, in euros.
REFERENCE = ReferenceData(
    rates=ExchangeRates.of(
        "USD",
        {
            "EUR": [
                (datetime(2020, 1, 1, tzinfo=UTC), Decimal("1.0712")),
                (datetime(2026, 3, 1, tzinfo=UTC), Decimal("1.0905")),
            ]
        },
    )
)

Totals = dict[tuple[Measure, tuple[tuple[str, str], ...]], Decimal]


def simulated(seed: int, count: int) -> list[Event]:
    """Return the first ``count`` events of a simulation."""
    simulation = Simulation(default_company(), seed=seed, start=START)
    return list(itertools.islice(simulation.events(), count))


def totals(samples: Iterable[Sample]) -> Totals:
    """Add samples up by measure and labels, as Prometheus' sum() does."""
    summed: Totals = defaultdict(Decimal)
    for sample in samples:
        summed[sample.measure, sample.labels] += sample.value
    return dict(summed)


def fold_in_one(events: Iterable[Event], now: datetime) -> Totals:
    state = KpiState(REFERENCE)
    assert state.fold_all(events) == []
    return totals(state.samples(now))


def now_after(events: Sequence[Event]) -> datetime:
    return max(event.time for event in events) + timedelta(hours=1)


seeds = st.integers(min_value=1, max_value=10_000)
counts = st.integers(min_value=50, max_value=800)
common = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@common
@given(seed=seeds, count=counts, data=st.data())
def test_duplicates_and_order_change_nothing(
    seed: int, count: int, data: st.DataObject
) -> None:
    events = simulated(seed, count)
    indices = st.integers(0, len(events) - 1)
    repeated = [events[i] for i in data.draw(st.lists(indices, max_size=count))]
    order = data.draw(st.permutations(range(len(events) + len(repeated))))
    every = events + repeated
    shuffled = [every[i] for i in order]
    now = now_after(events)

    assert fold_in_one(shuffled, now) == fold_in_one(events, now)


@common
@given(seed=seeds, count=counts, partitions=st.integers(2, 6))
def test_states_split_by_key_add_up_to_one_state(
    seed: int, count: int, partitions: int
) -> None:
    events = simulated(seed, count)
    states = [KpiState(REFERENCE) for _ in range(partitions)]

    def owner(key: str | bytes) -> KpiState:
        raw = key.encode() if isinstance(key, str) else key
        return states[zlib.crc32(raw) % partitions]

    pending: list[Link] = []
    for event in events:
        pending.extend(owner(partition_key(event)).fold(event))
        while pending:
            link = pending.pop()
            pending.extend(owner(link_key(link)[1]).apply(link))

    now = now_after(events)
    split = totals(sample for state in states for sample in state.samples(now))
    assert split == fold_in_one(events, now)


@common
@given(seed=seeds, count=counts, batch=st.integers(1, 50), data=st.data())
def test_refreshing_between_batches_equals_one_refresh(
    seed: int, count: int, batch: int, data: st.DataObject
) -> None:
    events = simulated(seed, count)
    order = data.draw(st.permutations(range(len(events))))
    shuffled = [events[i] for i in order]
    now = now_after(events)
    state = KpiState(REFERENCE)
    for start in range(0, len(shuffled), batch):
        state.fold_all(shuffled[start : start + batch])
        list(state.samples(now))

    assert totals(state.samples(now)) == fold_in_one(events, now)


@common
@given(seed=seeds, count=counts)
def test_rebuilding_gives_the_incremental_sums(seed: int, count: int) -> None:
    events = simulated(seed, count)
    now = now_after(events)
    state = KpiState(REFERENCE)
    state.fold_all(events)
    incremental = totals(state.samples(now))
    state.rebuild(REFERENCE)

    assert totals(state.samples(now)) == incremental


@common
@given(seed=seeds, count=counts, batch=st.integers(1, 50))
def test_a_partition_given_away_leaves_nothing_behind(
    seed: int, count: int, batch: int
) -> None:
    events = simulated(seed, count)
    now = now_after(events)
    ledger = Ledger(REFERENCE.calendar)
    states = [KpiState(REFERENCE, ledger), KpiState(REFERENCE, ledger)]

    def owner(key: str | bytes) -> KpiState:
        raw = key.encode() if isinstance(key, str) else key
        return states[zlib.crc32(raw) % 2]

    for start in range(0, len(events), batch):
        for event in events[start : start + batch]:
            pending = owner(partition_key(event)).fold(event)
            while pending:
                link = pending.pop()
                pending.extend(owner(link_key(link)[1]).apply(link))
        for state in states:
            state.refresh()
    kept, given_away = states

    given_away.retract_all()
    left = totals(ledger.samples(now, REFERENCE))
    given_away.add_all()
    given_away.retract_all()
    assert totals(ledger.samples(now, REFERENCE)) == left
    kept.rebuild(REFERENCE)
    assert left == totals(kept.ledger.samples(now, REFERENCE))
