"""A deal's truth, folded from its events in any order, and what it adds up to.

Each field keeps the value of the latest event that set it, by business time
and then event id, so that the arrival order never matters and applying an
event twice changes nothing. A deal whose ``deal.created`` has not arrived yet
is still counted when won, under an ``unknown`` rep, product and channel, and
moves to its own when the creation arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from kpis.events import (
    DealCreated,
    DealCreatedData,
    DealKind,
    DealLost,
    DealQuoteSent,
    DealStageChanged,
    DealWon,
)
from kpis.facts import CENT, UNKNOWN, Fact, Stamp, seconds_between
from kpis.links import DemoOfDeal, LeadOfDeal, LeadSnapshot, Link, WinOfAccount
from kpis.measures import Measure
from kpis.reference import ReferenceData

# The stage of an open deal that no deal.stage_changed has placed yet.
NO_STAGE = "none"

DealEvent = DealCreated | DealStageChanged | DealQuoteSent | DealWon | DealLost

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a deal closed: won with its amount and cost, or lost."""

    stamp: Stamp
    won: bool
    amount: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    currency: str = ""


@dataclass(slots=True)
class DealState:
    """Everything known about one deal."""

    deal_id: str
    created: tuple[Stamp, DealCreatedData] | None = None
    stage: tuple[Stamp, str, Decimal | None] | None = None
    close_date: tuple[Stamp, date] | None = None
    quotes: dict[str, Stamp] = field(default_factory=dict)
    outcome: Outcome | None = None
    lead: LeadSnapshot | None = None
    demos: dict[str, DemoOfDeal] = field(default_factory=dict)

    def fold(self, event: DealEvent) -> list[Link]:
        """Apply one event; return the links it sends to other entities."""
        stamp = (event.time, event.id)
        if isinstance(event, DealCreated):
            return self._fold_created(stamp, event.data)
        if isinstance(event, DealStageChanged):
            data = event.data
            if self.stage is None or stamp > self.stage[0]:
                self.stage = (stamp, data.stage, data.probability)
            if data.close_date is not None:
                self._set_close_date(stamp, data.close_date)
            return []
        if isinstance(event, DealQuoteSent):
            quote = self.quotes.get(event.data.quote_id)
            if quote is None or stamp < quote:
                # A quote counts once, in the period it was first sent.
                self.quotes[event.data.quote_id] = stamp
            return []
        if isinstance(event, DealWon):
            outcome = Outcome(
                stamp, True, event.data.amount, event.data.cost, event.data.currency
            )
        else:
            outcome = Outcome(stamp, False)
        if self.outcome is None or stamp > self.outcome.stamp:
            self.outcome = outcome
            return self._account_links()
        return []

    def _fold_created(self, stamp: Stamp, data: DealCreatedData) -> list[Link]:
        if self.created is not None and stamp <= self.created[0]:
            return []
        self.created = (stamp, data)
        if data.close_date is not None:
            self._set_close_date(stamp, data.close_date)
        links: list[Link] = self._account_links()
        if data.lead_id is not None:
            links.append(LeadOfDeal(data.lead_id, self.deal_id))
        return links

    def _set_close_date(self, stamp: Stamp, close_date: date) -> None:
        if self.close_date is None or stamp > self.close_date[0]:
            self.close_date = (stamp, close_date)

    def _account_links(self) -> list[Link]:
        """Tell the deal's account whether, and when, this deal was won."""
        if self.created is None:
            return []
        outcome = self.outcome
        won = outcome.stamp[0] if outcome is not None and outcome.won else None
        version = max(self.created[0], outcome.stamp if outcome else self.created[0])
        account_id = self.created[1].account_id
        return [WinOfAccount(account_id, self.deal_id, won, version)]

    def apply(self, link: LeadSnapshot | DemoOfDeal) -> None:
        """Apply a link from the deal's lead or from a demo."""
        if isinstance(link, DemoOfDeal):
            self.demos[link.activity_id] = link
        elif self.lead is None or link.version > self.lead.version:
            self.lead = link

    def facts(self, reference: ReferenceData) -> Iterator[Fact]:
        """Yield what the deal adds to the sums as it stands."""
        created = self.created
        rep_id = created[1].rep_id if created is not None else UNKNOWN
        for stamp in self.quotes.values():
            yield Fact(Measure.QUOTES_SENT, (rep_id,), _ONE, stamp[0])
        outcome = self.outcome
        if outcome is None:
            if created is not None:
                yield from self._pipeline_facts(created[0][0], created[1], reference)
        elif outcome.won:
            yield from self._won_facts(created, outcome, reference)

    def _won_facts(
        self,
        created: tuple[Stamp, DealCreatedData] | None,
        outcome: Outcome,
        reference: ReferenceData,
    ) -> Iterator[Fact]:
        won_at = outcome.stamp[0]
        rates = reference.rates
        revenue = rates.to_reporting(outcome.amount, outcome.currency, won_at)
        cost = rates.to_reporting(outcome.cost, outcome.currency, won_at)
        data = created[1] if created is not None else None
        rep = (data.rep_id,) if data is not None else (UNKNOWN,)
        product = (data.product,) if data is not None else (UNKNOWN,)
        channel = (str(data.channel),) if data is not None else (UNKNOWN,)

        yield Fact(Measure.WON_REVENUE, rep, revenue, won_at)
        yield Fact(Measure.WON_COST, rep, cost, won_at)
        yield Fact(Measure.WON_DEALS, rep, _ONE, won_at)
        yield Fact(Measure.PRODUCT_WON_REVENUE, product, revenue, won_at)
        yield Fact(Measure.PRODUCT_WON_COST, product, cost, won_at)
        yield Fact(Measure.PRODUCT_WON_DEALS, product, _ONE, won_at)
        yield Fact(Measure.CHANNEL_WON_REVENUE, channel, revenue, won_at)
        yield Fact(Measure.CHANNEL_WON_DEALS, channel, _ONE, won_at)

        first_interaction = self._first_interaction()
        if first_interaction is not None:
            cycle = seconds_between(first_interaction, won_at)
            yield Fact(Measure.WON_CYCLE_SECONDS, rep, cycle, won_at)
            yield Fact(Measure.WON_CYCLE_DEALS, rep, _ONE, won_at)
        if created is not None and created[1].kind is DealKind.NEW:
            yield Fact(Measure.NEW_WON_REVENUE, rep, revenue, won_at)
            yield Fact(Measure.NEW_WON_DEALS, rep, _ONE, won_at)
            duration = seconds_between(created[0][0], won_at)
            yield Fact(Measure.NEW_WON_DURATION_SECONDS, rep, duration, won_at)
            yield Fact(Measure.NEW_WON_TIMED_DEALS, rep, _ONE, won_at)
        lead = self.lead
        if lead is not None:
            origin = (lead.channel, lead.campaign)
            yield Fact(Measure.LEADS_WON, origin, _ONE, won_at)
        for demo in self.demos.values():
            yield Fact(Measure.DEMOS_WON, (demo.rep_id,), _ONE, demo.at)

    def _pipeline_facts(
        self, created_at: datetime, data: DealCreatedData, reference: ReferenceData
    ) -> Iterator[Fact]:
        amount = reference.rates.to_reporting(data.amount, data.currency, created_at)
        if self.stage is None:
            stage, probability = NO_STAGE, reference.stage_weight(NO_STAGE)
        else:
            _, stage, own = self.stage
            probability = own if own is not None else reference.stage_weight(stage)
        weighted = (amount * probability).quantize(CENT)
        labels = (stage, data.rep_id)

        yield Fact(Measure.PIPELINE_AMOUNT, labels, amount)
        yield Fact(Measure.PIPELINE_WEIGHTED_AMOUNT, labels, weighted)
        yield Fact(Measure.OPEN_DEALS, labels, _ONE)
        if self.close_date is not None:
            closes = _start_of_day(self.close_date[1], reference)
            yield Fact(
                Measure.PIPELINE_CLOSING_WEIGHTED_AMOUNT,
                (data.rep_id,),
                weighted,
                closes,
            )

    def _first_interaction(self) -> datetime | None:
        """Return the linked lead's creation, else the deal's own, if known."""
        if self.lead is not None:
            return self.lead.created
        return self.created[0][0] if self.created is not None else None


def _start_of_day(day: date, reference: ReferenceData) -> datetime:
    """Return the first instant of a calendar date in the configured zone."""
    return datetime.combine(day, time.min, tzinfo=reference.calendar.zone)
