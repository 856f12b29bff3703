"""The simulated business: a seeded discrete-event model of a sales organisation.

The model keeps a queue of things that will happen (a lead arrives, a deal
moves on, a rep makes a call, a customer cancels) ordered by simulated time,
and turns each into events when its time comes, so that events come out in
time order. It starts with a history (customers, churned accounts, open deals
and leads, with times before the start) and a scripted first two hours in
which one deal is won, one lost, one lead converted and one subscription
changed, cancelled and reactivated, so that every event type occurs within the
first few hundred events. Everything after that is random, from one seed.

Simplifications, stated here once: every day is a working day (no weekends or
office hours), a lead that does not convert is simply never heard of again,
and a rep's activity rate does not depend on their pipeline.
"""

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from random import Random
from typing import TypeVar

from kpis import events as ev
from kpis.events import ActivityKind, ActivityOutcome, Channel, DealKind
from streams.simulator.company import Campaign, Company, Product, Rep

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
_DAYS_UNTIL_STALE = 30
_LOSS_CHANCE = (0.25, 0.25, 0.2, 0.25)
_LOSS_REASONS = ("price", "competitor", "no_decision", "timing", "missing_features")
_DIRECT_CHANNELS = (Channel.PHONE, Channel.REFERRAL, Channel.IN_PERSON, Channel.EMAIL)
_OUTCOMES: dict[ActivityKind, tuple[tuple[ActivityOutcome, ...], tuple[float, ...]]] = {
    ActivityKind.CALL: (
        (
            ActivityOutcome.NONE,
            ActivityOutcome.CONNECTED,
            ActivityOutcome.QUALIFIED_LEAD,
            ActivityOutcome.MEETING_BOOKED,
        ),
        (0.35, 0.40, 0.10, 0.15),
    ),
    ActivityKind.EMAIL: (
        (
            ActivityOutcome.NONE,
            ActivityOutcome.CONNECTED,
            ActivityOutcome.QUALIFIED_LEAD,
            ActivityOutcome.MEETING_BOOKED,
        ),
        (0.60, 0.30, 0.05, 0.05),
    ),
    ActivityKind.MEETING: (
        (
            ActivityOutcome.NONE,
            ActivityOutcome.CONNECTED,
            ActivityOutcome.QUALIFIED_LEAD,
            ActivityOutcome.MEETING_BOOKED,
        ),
        (0.20, 0.50, 0.10, 0.20),
    ),
    ActivityKind.DEMO: (
        (
            ActivityOutcome.NONE,
            ActivityOutcome.CONNECTED,
            ActivityOutcome.MEETING_BOOKED,
        ),
        (0.20, 0.40, 0.40),
    ),
    ActivityKind.ONBOARDING: (
        (ActivityOutcome.NONE, ActivityOutcome.CONNECTED),
        (0.10, 0.90),
    ),
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


@dataclass
class _Deal:
    deal_id: str
    rep: Rep
    account_id: str
    product: Product
    seats: int
    amount: Decimal
    currency: str
    kind: DealKind
    channel: Channel
    lead_id: str | None
    stage: int = 0


@dataclass
class _Subscription:
    subscription_id: str
    account_id: str
    product_id: str
    currency: str
    mrr: Decimal
    active: bool = True
    version: int = 0


@dataclass
class _Lead:
    lead_id: str
    campaign: Campaign
    created: datetime


@dataclass
class _State:
    deals: dict[str, _Deal] = field(default_factory=dict)
    leads: dict[str, _Lead] = field(default_factory=dict)
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)


class Simulation:
    """A seeded, reproducible stream of events from one simulated company."""

    def __init__(
        self, company: Company, *, seed: int, start: datetime, rates: Rates = Rates()
    ) -> None:
        """Prepare the history and the first happenings after ``start``.

        Args:
            company: the reps, products and campaigns to simulate.
            seed: the seed of every random draw; the same seed gives the
                same events.
            start: the simulated time the live part begins (timezone-aware).
            rates: how often things happen.
        """
        self.company = company
        self.start = start
        self.rates = rates
        self._random = Random(seed)
        self._queue: list[tuple[datetime, int, Action]] = []
        self._sequence = itertools.count()
        self._counters: dict[str, itertools.count[int]] = {}
        self._state = _State()
        self._write_history()
        self._start_processes()
        self._script_opening()

    def events(self) -> Iterator[ev.Event]:
        """Yield the events in time order, for ever (limit them outside)."""
        while self._queue:
            time, _, action = heapq.heappop(self._queue)
            yield from action(time)

    # Scheduling and small helpers.

    def _at(self, time: datetime, action: Action) -> None:
        heapq.heappush(self._queue, (time, next(self._sequence), action))

    def _after_days(self, time: datetime, mean_days: float) -> datetime:
        days = self._random.expovariate(1.0 / mean_days)
        return _to_millisecond(max(time, self.start) + timedelta(days=days))

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
        return _to_millisecond(self.start - timedelta(days=days))

    # The history before the start.

    def _write_history(self) -> None:
        for _ in range(60):
            self._history_customer(churned=False)
        for _ in range(10):
            self._history_customer(churned=True)
        for _ in range(40):
            self._history_deal()
        for _ in range(20):
            self._history_lead()

    def _history_customer(self, *, churned: bool) -> None:
        product = self._random.choice([p for p in self.company.products if p.recurring])
        team = self._random.choice(self.company.teams)
        seats = self._random.randint(5, 60)
        subscription = _Subscription(
            self._next_id("S"),
            self._next_id("A"),
            product.product_id,
            team.currency,
            self._money(product.list_price * seats),
        )
        self._state.subscriptions[subscription.subscription_id] = subscription
        started = self._past(720, 60)
        self._at(
            started,
            lambda t: [
                self._subscription_event(ev.SubscriptionStarted, t, subscription)
            ],
        )
        if churned:
            self._at(self._past(50, 5), lambda t: self._cancel(t, subscription))
        else:
            self._schedule_subscription_changes(subscription, self.start)

    def _history_deal(self) -> None:
        deal = self._new_deal(
            kind=DealKind.NEW, channel=self._random.choice(list(Channel))
        )
        stage = self._random.randrange(len(self.company.stages))
        created = self._past(30, 2)
        self._at(created, lambda t: self._open_deal(t, deal))
        for index in range(1, stage + 1):
            moved = created + (self.start - created) * index / (stage + 1)
            self._at(
                _to_millisecond(moved),
                partial(self._move_to_stage, deal=deal, stage=index),
            )
        self._at(
            self._after_days(self.start, 3.0), lambda t: self._advance(t, deal.deal_id)
        )

    def _history_lead(self) -> None:
        campaign = self._random.choice(self.company.campaigns)
        self._at(
            self._past(10), lambda t: self._lead_arrives(t, campaign, repeat=False)
        )

    # The repeating processes.

    def _start_processes(self) -> None:
        rates = self.rates
        for campaign in self.company.campaigns:
            self._repeat(
                campaign.leads_per_day, partial(self._lead_arrives, campaign=campaign)
            )
        for rep in self.company.reps:
            self._repeat(
                rates.activities_per_rep_per_day, partial(self._rep_works, rep=rep)
            )
        self._repeat(rates.direct_deals_per_day, self._direct_deal)
        self._repeat(rates.account_deals_per_day, self._account_deal)
        self._at(self.start + timedelta(minutes=1), self._daily_costs)

    def _repeat(self, per_day: float, action: Action) -> None:
        def step(time: datetime) -> list[ev.Event]:
            self._at(self._after_days(time, 1.0 / per_day), step)
            return action(time)

        self._at(self._after_days(self.start, 1.0 / per_day), step)

    def _script_opening(self) -> None:
        def soon() -> datetime:
            minutes = self._random.uniform(5, 120)
            return _to_millisecond(self.start + timedelta(minutes=minutes))

        deals = sorted(self._state.deals.values(), key=lambda d: -d.stage)
        self._at(soon(), lambda t: self._close(t, deals[0], won=True))
        self._at(soon(), lambda t: self._close(t, deals[1], won=False))
        subscriptions = list(self._state.subscriptions.values())
        churned = subscriptions[60:]
        self._at(soon(), self._convert_first_open_lead)
        self._at(
            soon(),
            lambda t: self._contract(t, subscriptions[0], subscriptions[0].version),
        )
        self._at(soon(), lambda t: self._cancel(t, subscriptions[1]))
        self._at(soon(), lambda t: self._reactivate(t, churned[0]))

    # Leads.

    def _lead_arrives(
        self, time: datetime, campaign: Campaign, repeat: bool = True
    ) -> list[ev.Event]:
        lead = _Lead(self._next_id("L"), campaign, time)
        self._state.leads[lead.lead_id] = lead
        if self._random.random() < self.rates.lead_conversion_chance:
            converted = self._after_days(time, self.rates.days_to_convert)
            self._at(converted, lambda t: self._convert(t, lead.lead_id))
        else:
            stale = time + timedelta(days=_DAYS_UNTIL_STALE)
            self._at(stale, lambda t: self._forget_lead(lead.lead_id))
        data = ev.LeadCreatedData(lead.lead_id, campaign.channel, campaign.campaign_id)
        return [self._event(ev.LeadCreated, time, data)]

    def _forget_lead(self, lead_id: str) -> list[ev.Event]:
        self._state.leads.pop(lead_id, None)
        return []

    def _convert_first_open_lead(self, time: datetime) -> list[ev.Event]:
        lead_id = next(iter(self._state.leads), None)
        return [] if lead_id is None else self._convert(time, lead_id)

    def _convert(self, time: datetime, lead_id: str) -> list[ev.Event]:
        lead = self._state.leads.pop(lead_id, None)
        if lead is None:
            return []
        deal = self._new_deal(
            kind=DealKind.NEW, channel=lead.campaign.channel, lead=lead
        )
        qualifying = ev.ActivityLoggedData(
            self._next_id("ACT"),
            deal.rep.rep_id,
            ActivityKind.CALL,
            ActivityOutcome.QUALIFIED_LEAD,
            lead_id=lead_id,
        )
        converted = ev.LeadConvertedData(lead_id, deal.deal_id)
        self._at(
            self._after_days(time, self.rates.days_per_stage),
            lambda t: self._advance(t, deal.deal_id),
        )
        return [
            self._event(ev.ActivityLogged, time, qualifying),
            self._event(ev.LeadConverted, time, converted),
            *self._open_deal(time, deal),
        ]

    # Deals.

    def _new_deal(
        self,
        *,
        kind: DealKind,
        channel: Channel,
        lead: _Lead | None = None,
        account_id: str | None = None,
        product: Product | None = None,
    ) -> _Deal:
        product = product or self._random.choice(self.company.products)
        rep = self._random.choice(self.company.reps)
        seats = (
            self._random.randint(5, 80)
            if product.recurring
            else self._random.randint(1, 3)
        )
        months = 12 if product.recurring else 1
        deal = _Deal(
            self._next_id("D"),
            rep,
            account_id or self._next_id("A"),
            product,
            seats,
            self._money(product.list_price * seats * months),
            self.company.team(rep.team).currency,
            kind,
            channel,
            lead.lead_id if lead else None,
        )
        self._state.deals[deal.deal_id] = deal
        return deal

    def _open_deal(self, time: datetime, deal: _Deal) -> list[ev.Event]:
        close_date = (time + timedelta(days=self._random.randint(21, 70))).date()
        created = ev.DealCreatedData(
            deal.deal_id,
            deal.rep.rep_id,
            deal.account_id,
            deal.product.product_id,
            deal.amount,
            deal.currency,
            deal.channel,
            deal.kind,
            deal.lead_id,
            close_date,
        )
        stage = ev.DealStageChangedData(deal.deal_id, self.company.stages[0].name)
        return [
            self._event(ev.DealCreated, time, created),
            self._event(ev.DealStageChanged, time, stage),
        ]

    def _direct_deal(self, time: datetime) -> list[ev.Event]:
        deal = self._new_deal(
            kind=DealKind.NEW, channel=self._random.choice(_DIRECT_CHANNELS)
        )
        self._at(
            self._after_days(time, self.rates.days_per_stage),
            lambda t: self._advance(t, deal.deal_id),
        )
        return self._open_deal(time, deal)

    def _account_deal(self, time: datetime) -> list[ev.Event]:
        active = [s for s in self._state.subscriptions.values() if s.active]
        if not active:
            return []
        subscription = self._random.choice(active)
        product = next(
            p for p in self.company.products if p.product_id == subscription.product_id
        )
        kind = DealKind.EXPANSION if self._random.random() < 0.7 else DealKind.RENEWAL
        deal = self._new_deal(
            kind=kind,
            channel=Channel.EMAIL,
            account_id=subscription.account_id,
            product=product,
        )
        self._at(
            self._after_days(time, self.rates.days_per_stage),
            lambda t: self._advance(t, deal.deal_id),
        )
        return self._open_deal(time, deal)

    def _advance(self, time: datetime, deal_id: str) -> list[ev.Event]:
        deal = self._state.deals.get(deal_id)
        if deal is None:
            return []
        if self._random.random() < _LOSS_CHANCE[deal.stage]:
            return self._close(time, deal, won=False)
        if deal.stage == len(self.company.stages) - 1:
            return self._close(time, deal, won=True)
        self._at(
            self._after_days(time, self.rates.days_per_stage),
            lambda t: self._advance(t, deal_id),
        )
        return self._move_to_stage(time, deal, deal.stage + 1)

    def _move_to_stage(self, time: datetime, deal: _Deal, stage: int) -> list[ev.Event]:
        deal.stage = stage
        data = ev.DealStageChangedData(deal.deal_id, self.company.stages[stage].name)
        events: list[ev.Event] = [self._event(ev.DealStageChanged, time, data)]
        revised = stage == len(self.company.stages) - 1 and self._random.random() < 0.3
        if stage == 2 or revised:
            events.append(self._quote(time, deal))
        if stage == 2:
            demo = self._after_days(time, 2.0)
            self._at(
                demo,
                lambda t: [
                    self._activity(t, deal.rep, ActivityKind.DEMO, deal_id=deal.deal_id)
                ],
            )
        return events

    def _quote(self, time: datetime, deal: _Deal) -> ev.Event:
        discount = Decimal(self._random.choice((0, 0, 5, 10, 15))) / 100
        deal.amount = self._money(deal.amount * (1 - discount))
        data = ev.DealQuoteSentData(
            deal.deal_id, self._next_id("Q"), deal.amount, deal.currency
        )
        return self._event(ev.DealQuoteSent, time, data)

    def _close(self, time: datetime, deal: _Deal, *, won: bool) -> list[ev.Event]:
        if self._state.deals.pop(deal.deal_id, None) is None:
            return []
        if not won:
            data = ev.DealLostData(deal.deal_id, self._random.choice(_LOSS_REASONS))
            return [self._event(ev.DealLost, time, data)]
        months = 12 if deal.product.recurring else 1
        cost = self._money(deal.product.unit_cost * deal.seats * months)
        won_data = ev.DealWonData(deal.deal_id, deal.amount, cost, deal.currency)
        closing = self._activity(
            time,
            deal.rep,
            ActivityKind.MEETING,
            outcome=ActivityOutcome.SALE,
            deal_id=deal.deal_id,
        )
        return [
            self._event(ev.DealWon, time, won_data),
            closing,
            *self._after_win(time, deal),
        ]

    def _after_win(self, time: datetime, deal: _Deal) -> list[ev.Event]:
        if not deal.product.recurring:
            return []
        for _ in range(self._random.randint(1, 2)):
            call = self._after_days(time, 5.0)
            self._at(
                call,
                lambda t: [
                    self._activity(
                        t, deal.rep, ActivityKind.ONBOARDING, deal_id=deal.deal_id
                    )
                ],
            )
        added = self._money(deal.amount / 12)
        existing = next(
            (
                s
                for s in self._state.subscriptions.values()
                if s.account_id == deal.account_id
            ),
            None,
        )
        if existing is None:
            subscription = _Subscription(
                self._next_id("S"),
                deal.account_id,
                deal.product.product_id,
                deal.currency,
                added,
            )
            self._state.subscriptions[subscription.subscription_id] = subscription
            self._schedule_subscription_changes(subscription, time)
            return [
                self._subscription_event(ev.SubscriptionStarted, time, subscription)
            ]
        if not existing.active:
            return []
        uplift = Decimal(self._random.choice((0, 2, 3, 5))) / 100
        growth = added if deal.kind is DealKind.EXPANSION else existing.mrr * uplift
        return self._change_mrr(time, existing, existing.mrr + growth)

    # Activities.

    def _rep_works(self, time: datetime, rep: Rep) -> list[ev.Event]:
        kind = self._random.choices(
            (
                ActivityKind.CALL,
                ActivityKind.EMAIL,
                ActivityKind.MEETING,
                ActivityKind.DEMO,
            ),
            (0.45, 0.35, 0.15, 0.05),
        )[0]
        deals = [d.deal_id for d in self._state.deals.values() if d.rep is rep]
        roll = self._random.random()
        if deals and roll < 0.6:
            return [self._activity(time, rep, kind, deal_id=self._random.choice(deals))]
        if self._state.leads and roll < 0.85 and kind is not ActivityKind.DEMO:
            lead_id = self._random.choice(list(self._state.leads))
            return [self._activity(time, rep, kind, lead_id=lead_id)]
        return [self._activity(time, rep, kind)]

    def _activity(
        self,
        time: datetime,
        rep: Rep,
        kind: ActivityKind,
        *,
        outcome: ActivityOutcome | None = None,
        deal_id: str | None = None,
        lead_id: str | None = None,
    ) -> ev.Event:
        if outcome is None:
            outcomes, weights = _OUTCOMES[kind]
            outcome = self._random.choices(outcomes, weights)[0]
        data = ev.ActivityLoggedData(
            self._next_id("ACT"), rep.rep_id, kind, outcome, deal_id, lead_id
        )
        return self._event(ev.ActivityLogged, time, data)

    # Subscriptions.

    def _subscription_event(
        self, kind: Callable[..., T], time: datetime, subscription: _Subscription
    ) -> T:
        mrr = subscription.mrr if subscription.active else Decimal(0)
        data = ev.SubscriptionData(
            subscription.subscription_id,
            subscription.account_id,
            mrr,
            subscription.currency,
            subscription.product_id,
        )
        return self._event(kind, time, data)

    def _schedule_subscription_changes(
        self, subscription: _Subscription, time: datetime
    ) -> None:
        version = subscription.version
        contract = self._after_days(time, self.rates.days_to_contract)
        cancel = self._after_days(time, self.rates.days_to_cancel)
        self._at(contract, lambda t: self._contract(t, subscription, version))
        self._at(cancel, lambda t: self._cancel(t, subscription, version))

    def _change_mrr(
        self, time: datetime, subscription: _Subscription, mrr: Decimal
    ) -> list[ev.Event]:
        subscription.mrr = self._money(mrr)
        subscription.version += 1
        self._schedule_subscription_changes(subscription, time)
        return [self._subscription_event(ev.SubscriptionChanged, time, subscription)]

    def _contract(
        self, time: datetime, subscription: _Subscription, version: int
    ) -> list[ev.Event]:
        if not subscription.active or subscription.version != version:
            return []
        share = Decimal(self._random.choice((70, 80, 90))) / 100
        return self._change_mrr(time, subscription, subscription.mrr * share)

    def _cancel(
        self, time: datetime, subscription: _Subscription, version: int | None = None
    ) -> list[ev.Event]:
        if not subscription.active or version not in (None, subscription.version):
            return []
        subscription.active = False
        subscription.version += 1
        if self._random.random() < self.rates.reactivation_chance:
            back = self._after_days(time, self.rates.days_to_reactivate)
            self._at(
                back,
                partial(
                    self._reactivate,
                    subscription=subscription,
                    version=subscription.version,
                ),
            )
        return [self._subscription_event(ev.SubscriptionCancelled, time, subscription)]

    def _reactivate(
        self, time: datetime, subscription: _Subscription, version: int | None = None
    ) -> list[ev.Event]:
        if subscription.active or version not in (None, subscription.version):
            return []
        share = Decimal(self._random.choice((80, 90, 100))) / 100
        subscription.mrr = self._money(subscription.mrr * share)
        subscription.active = True
        subscription.version += 1
        self._schedule_subscription_changes(subscription, time)
        return [
            self._subscription_event(ev.SubscriptionReactivated, time, subscription)
        ]

    # Costs.

    def _daily_costs(self, time: datetime) -> list[ev.Event]:
        self._at(time + timedelta(days=1), self._daily_costs)
        events: list[ev.Event] = []
        for campaign in self.company.campaigns:
            amount = self._money(
                campaign.monthly_budget / 30 * Decimal(self._random.uniform(0.8, 1.2))
            )
            data = ev.CostRecordedData(
                ev.CostCategory.MARKETING,
                amount,
                self.company.marketing_currency,
                campaign_id=campaign.campaign_id,
            )
            events.append(self._event(ev.CostRecorded, time, data))
        for team in self.company.teams:
            amount = self._money(team.monthly_cost / 30)
            data = ev.CostRecordedData(
                ev.CostCategory.SALES, amount, team.currency, team=team.name
            )
            events.append(self._event(ev.CostRecorded, time, data))
        return events


def _to_millisecond(time: datetime) -> datetime:
    return time.replace(microsecond=time.microsecond // 1000 * 1000)
