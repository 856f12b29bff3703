"""The sales of the simulated business: leads, deals and reps' activities.

A lead converts into a deal or is forgotten; a deal moves through the stages
until it is won or lost, and a won deal starts or grows a subscription.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from kpis import events as ev
from kpis.events import ActivityKind, ActivityOutcome, Channel, DealKind
from streams.simulator.company import Campaign, Company, Product, Rep
from streams.simulator.scheduling import Rates
from streams.simulator.subscriptions import Subscription, Subscriptions

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


@dataclass
class Deal:
    """An open deal as the CRM holds it."""

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
class Lead:
    """A lead that has not converted yet."""

    lead_id: str
    campaign: Campaign
    created: datetime


class Sales(Subscriptions):
    """The open leads and deals, and what reps and customers do with them."""

    def __init__(
        self, company: Company, *, seed: int, start: datetime, rates: Rates
    ) -> None:
        """Start with no leads and no deals."""
        super().__init__(company, seed=seed, start=start, rates=rates)
        self._deals: dict[str, Deal] = {}
        self._leads: dict[str, Lead] = {}

    def _lead_arrives(
        self, time: datetime, campaign: Campaign, repeat: bool = True
    ) -> list[ev.Event]:
        lead = Lead(self._next_id("L"), campaign, time)
        self._leads[lead.lead_id] = lead
        if self._random.random() < self.rates.lead_conversion_chance:
            converted = self._after_days(time, self.rates.days_to_convert)
            self._at(converted, lambda t: self._convert(t, lead.lead_id))
        else:
            stale = time + timedelta(days=_DAYS_UNTIL_STALE)
            self._at(stale, lambda t: self._forget_lead(lead.lead_id))
        data = ev.LeadCreatedData(lead.lead_id, campaign.channel, campaign.campaign_id)
        return [self._event(ev.LeadCreated, time, data)]

    def _forget_lead(self, lead_id: str) -> list[ev.Event]:
        self._leads.pop(lead_id, None)
        return []

    def _convert_first_open_lead(self, time: datetime) -> list[ev.Event]:
        lead_id = next(iter(self._leads), None)
        return [] if lead_id is None else self._convert(time, lead_id)

    def _convert(self, time: datetime, lead_id: str) -> list[ev.Event]:
        lead = self._leads.pop(lead_id, None)
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

    def _new_deal(
        self,
        *,
        kind: DealKind,
        channel: Channel,
        lead: Lead | None = None,
        account_id: str | None = None,
        product: Product | None = None,
    ) -> Deal:
        product = product or self._random.choice(self.company.products)
        rep = self._random.choice(self.company.reps)
        seats = (
            self._random.randint(5, 80)
            if product.recurring
            else self._random.randint(1, 3)
        )
        months = 12 if product.recurring else 1
        deal = Deal(
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
        self._deals[deal.deal_id] = deal
        return deal

    def _open_deal(self, time: datetime, deal: Deal) -> list[ev.Event]:
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
        active = [s for s in self._subscriptions.values() if s.active]
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
        deal = self._deals.get(deal_id)
        if deal is None:
            return []
        if self._random.random() < _LOSS_CHANCE[deal.stage]:
            return self._close(time, deal, won=False)
        if deal.stage == len(self.company.stages) - 1:
            return self._close(time, deal, won=self._wins(deal))
        self._at(
            self._after_days(time, self.rates.days_per_stage),
            lambda t: self._advance(t, deal_id),
        )
        return self._move_to_stage(time, deal, deal.stage + 1)

    def _wins(self, deal: Deal) -> bool:
        """Tell whether a deal at the last stage is won, at its team's pace."""
        pace = dict(self.rates.team_pace).get(deal.rep.team, 1.0)
        # No draw for a team at full pace, so that the stream stays the same.
        return pace >= 1.0 or self._random.random() < pace

    def _move_to_stage(self, time: datetime, deal: Deal, stage: int) -> list[ev.Event]:
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

    def _quote(self, time: datetime, deal: Deal) -> ev.Event:
        discount = Decimal(self._random.choice((0, 0, 5, 10, 15))) / 100
        deal.amount = self._money(deal.amount * (1 - discount))
        data = ev.DealQuoteSentData(
            deal.deal_id, self._next_id("Q"), deal.amount, deal.currency
        )
        return self._event(ev.DealQuoteSent, time, data)

    def _close(self, time: datetime, deal: Deal, *, won: bool) -> list[ev.Event]:
        if self._deals.pop(deal.deal_id, None) is None:
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

    def _after_win(self, time: datetime, deal: Deal) -> list[ev.Event]:
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
                for s in self._subscriptions.values()
                if s.account_id == deal.account_id
            ),
            None,
        )
        if existing is None:
            subscription = Subscription(
                self._next_id("S"),
                deal.account_id,
                deal.product.product_id,
                deal.currency,
                added,
            )
            self._subscriptions[subscription.subscription_id] = subscription
            self._schedule_subscription_changes(subscription, time)
            return [
                self._subscription_event(ev.SubscriptionStarted, time, subscription)
            ]
        if not existing.active:
            return []
        uplift = Decimal(self._random.choice((0, 2, 3, 5))) / 100
        growth = added if deal.kind is DealKind.EXPANSION else existing.mrr * uplift
        return self._change_mrr(time, existing, existing.mrr + growth)

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
        deals = [d.deal_id for d in self._deals.values() if d.rep is rep]
        roll = self._random.random()
        if deals and roll < 0.6:
            return [self._activity(time, rep, kind, deal_id=self._random.choice(deals))]
        if self._leads and roll < 0.85 and kind is not ActivityKind.DEMO:
            lead_id = self._random.choice(list(self._leads))
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
