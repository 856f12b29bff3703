"""The domain state of one partition: entities, links out, and their sums.

Events are folded into the entity they belong to (a deal, a lead, an
account, a campaign's or a team's costs) or, for activities, which never
change once logged, counted straight into the sums after a check of their
id. The sums are kept incrementally: the first time an entity is touched
after a refresh, its facts are noted, and :meth:`KpiState.refresh` puts the
difference between those and its new facts into the sums. Folding the same
events in any order, any number of times, gives the same sums.

One state serves one partition of the input; links to entities of other
partitions are returned to the caller, which routes them (the batch replay
routes them to the same state, the live engine through a topic).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import NamedTuple, TypeVar

from kpis.accounts import AccountState
from kpis.activities import ActivityCounts, ActivityState
from kpis.costs import CostState
from kpis.deals import DealEvent, DealState
from kpis.events import (
    ActivityKind,
    ActivityLogged,
    CostCategory,
    CostRecorded,
    DealCreated,
    DealQuoteSent,
    DealWon,
    Event,
    InvalidEvent,
    LeadConverted,
    LeadCreated,
    RejectReason,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionReactivated,
    SubscriptionStarted,
)
from kpis.facts import Fact
from kpis.leads import LeadState
from kpis.ledger import Ledger, Sample
from kpis.links import DemoOfDeal, LeadOfDeal, LeadSnapshot, Link, WinOfAccount
from kpis.money import UnknownCurrency
from kpis.periods import Grain
from kpis.reference import ReferenceData

_ONE = Decimal(1)
_Entity = DealState | LeadState | AccountState | CostState
E = TypeVar("E", DealState, LeadState, AccountState, CostState)
_SUBSCRIPTION_EVENTS = (
    SubscriptionStarted,
    SubscriptionChanged,
    SubscriptionCancelled,
    SubscriptionReactivated,
)
_LEAD_EVENTS = (LeadCreated, LeadConverted)
_DEMO = str(ActivityKind.DEMO)
_DEAL_LINKS = (LeadSnapshot, DemoOfDeal)
# The events with an amount, whose currency must convert to the reporting one.
_PRICED = frozenset(
    {DealCreated, DealQuoteSent, DealWon, CostRecorded, *_SUBSCRIPTION_EVENTS}
)


class ActivityRecord(NamedTuple):
    """One counted activity, as the changelog keeps it."""

    event_id: str
    rep_id: str
    slot: int
    kind: str
    outcome: str


class Changes(NamedTuple):
    """What a refresh found changed: to be written to the changelog."""

    entities: list[DealState | LeadState | AccountState | CostState]
    activities: list[ActivityRecord]


class KpiState:
    """The entities of one partition and the sums they make.

    Several states may share one ledger: a worker sums the partitions it owns
    into one set of sums, and retracts a partition's facts when it loses it.
    """

    def __init__(
        self,
        reference: ReferenceData,
        ledger: Ledger | None = None,
        *,
        record_changes: bool = False,
    ) -> None:
        self.reference = reference
        self.ledger = ledger if ledger is not None else Ledger(reference.calendar)
        self.record_changes = record_changes
        self._new_records: list[ActivityRecord] = []
        self.deals: dict[str, DealState] = {}
        self.leads: dict[str, LeadState] = {}
        self.accounts: dict[str, AccountState] = {}
        self.costs: dict[str, CostState] = {}
        self.activities: dict[str, ActivityState] = {}
        # Ids of the activities already counted: an activity is never retracted.
        self.counted_activities: set[str] = set()
        self._new_activities = ActivityCounts()
        self._day_of = partial(reference.calendar.bucket, Grain.DAY)
        self._touched: dict[int, _Entity] = {}
        # The facts each touched entity had in the sums before its change.
        self._before: dict[int, list[Fact]] = {}

    def fold(self, event: Event) -> list[Link]:
        """Apply one event; return the links it sends to other entities.

        Raises:
            InvalidEvent: the event's currency has no exchange rate to the
                reporting currency; nothing was changed.
        """
        if isinstance(event, ActivityLogged):
            return self._count_activity(event)
        if type(event) in _PRICED:
            self._check_convertible(event)
        if isinstance(event, CostRecorded):
            self._cost(_cost_key(event)).fold(event)
            return []
        if isinstance(event, _LEAD_EVENTS):
            return self._lead(event.data.lead_id).fold(event)
        if isinstance(event, _SUBSCRIPTION_EVENTS):
            account = self._account(event.data.account_id)
            account.fold((event.time, event.id), event.data)
            return []
        deal_event: DealEvent = event
        return self._deal(deal_event.data.deal_id).fold(deal_event)

    def apply(self, link: Link) -> list[Link]:
        """Apply a link from another entity; return the links it causes."""
        if isinstance(link, LeadOfDeal):
            return self._lead(link.lead_id).apply(link)
        if isinstance(link, WinOfAccount):
            self._account(link.account_id).apply(link)
        elif isinstance(link, _DEAL_LINKS):
            self._deal(link.deal_id).apply(link)
        return []

    def fold_all(self, events: Iterable[Event]) -> list[tuple[Event, InvalidEvent]]:
        """Fold events whose links all stay in this state; return the rejects."""
        rejected = []
        for event in events:
            try:
                pending = self.fold(event)
            except InvalidEvent as error:
                rejected.append((event, error))
                continue
            while pending:
                pending.extend(self.apply(pending.pop()))
        return rejected

    def refresh(self) -> Changes:
        """Add the facts of every entity touched since the last refresh.

        Returns:
            The entities touched and the activities counted since the last
            refresh (the activities only with ``record_changes``).
        """
        touched, self._touched = self._touched, {}
        before, self._before = self._before, {}
        for key, entity in touched.items():
            after = list(self._facts(entity))
            previous = before.get(key)
            if not previous:
                self.ledger.add(after)
                continue
            # Only what changed reaches the sums: a stage change leaves a
            # deal's quotes as they were, and most facts cancel out.
            old, new = Counter(previous), Counter(after)
            self.ledger.add((old - new).elements(), sign=-1)
            self.ledger.add((new - old).elements())
        self.ledger.add_days(self._new_activities.take())
        self.ledger.add_slots(self._new_activities.take_slots())
        records, self._new_records = self._new_records, []
        return Changes(list(touched.values()), records)

    def add_all(self) -> None:
        """Add the facts of every entity and activity to the ledger."""
        self._touched.clear()
        self._before.clear()
        self._new_activities.clear()
        for entity in self._entities():
            self.ledger.add(self._facts(entity))
        for rep in self.activities.values():
            self.ledger.add(rep.facts())

    def retract_all(self) -> None:
        """Take this state's facts out of the ledger (a partition given away)."""
        self.refresh()
        for entity in self._entities():
            self.ledger.add(self._facts(entity), sign=-1)
        for rep in self.activities.values():
            self.ledger.add(rep.facts(), sign=-1)

    def _entities(self) -> Iterator[_Entity]:
        for entities in (self.deals, self.leads, self.accounts, self.costs):
            yield from entities.values()

    def samples(self, now: datetime) -> Iterator[Sample]:
        """Yield every sample with the windows anchored at ``now``."""
        self.refresh()
        return self.ledger.samples(now, self.reference)

    def rebuild(self, reference: ReferenceData, ledger: Ledger | None = None) -> None:
        """Recompute every sum under new reference data (rates, weights).

        Args:
            reference: the new reference data.
            ledger: an empty ledger shared with other states, under the new
                calendar; a new one of this state's own when left out.
        """
        self.reference = reference
        self._day_of = partial(reference.calendar.bucket, Grain.DAY)
        self.ledger = ledger if ledger is not None else Ledger(reference.calendar)
        self.add_all()

    def _deal(self, deal_id: str) -> DealState:
        return self._entity(self.deals, deal_id, DealState)

    def _lead(self, lead_id: str) -> LeadState:
        return self._entity(self.leads, lead_id, LeadState)

    def _account(self, account_id: str) -> AccountState:
        return self._entity(self.accounts, account_id, AccountState)

    def _cost(self, key: str) -> CostState:
        return self._entity(self.costs, key, CostState)

    def _entity(self, entities: dict[str, E], key: str, new: Callable[[str], E]) -> E:
        """Return an entity about to change, noting the facts it had before.

        The facts are taken once, at the entity's first change since a
        refresh, which puts the difference in the sums; a new one had none.
        """
        entity = entities.get(key)
        if entity is None:
            entity = entities[key] = new(key)
        elif id(entity) not in self._touched:
            self._before[id(entity)] = list(self._facts(entity))
        self._touched[id(entity)] = entity
        return entity

    def _facts(self, entity: _Entity) -> Iterator[Fact]:
        if isinstance(entity, LeadState):
            return entity.facts()
        return entity.facts(self.reference)

    def _count_activity(self, event: ActivityLogged) -> list[Link]:
        if event.id in self.counted_activities:
            return []
        self.counted_activities.add(event.id)
        data = event.data
        rep_id, kind, outcome = data.rep_id, str(data.kind), str(data.outcome)
        rep = self.activities.get(rep_id)
        if rep is None:
            rep = self.activities[rep_id] = ActivityState(rep_id)
        slot = rep.count(event.time, kind, outcome)
        if self.record_changes:
            self._new_records.append(
                ActivityRecord(event.id, rep_id, slot, kind, outcome)
            )
        day = self._day_of(event.time)
        self._new_activities.add(rep_id, kind, outcome, day, slot)
        if kind == _DEMO and data.deal_id is not None:
            return [DemoOfDeal(data.deal_id, data.activity_id, event.time, data.rep_id)]
        return []

    def _check_convertible(self, event: Event) -> None:
        currency: str = event.data.currency  # type: ignore[union-attr]
        try:
            self.reference.rates.rate(currency, event.time)
        except UnknownCurrency as error:
            raise InvalidEvent(RejectReason.UNKNOWN_CURRENCY, str(error)) from error


def _cost_key(event: CostRecorded) -> str:
    """Return the campaign or team a cost is recorded against."""
    data = event.data
    key = data.campaign_id if data.category is CostCategory.MARKETING else data.team
    # The contract requires the one that matches the category.
    return key or ""
