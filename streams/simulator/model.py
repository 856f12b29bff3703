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

The parts live in modules of their own, each building on the one before:
``scheduling`` (the queue and the seeded draws), ``subscriptions``,
``sales`` (leads, deals, activities) and ``history``.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from kpis import events as ev
from streams.simulator.company import Company
from streams.simulator.history import History
from streams.simulator.scheduling import (
    DEFAULT_RATES,
    Action,
    Rates,
    to_millisecond,
)


class Simulation(History):
    """A seeded, reproducible stream of events from one simulated company."""

    def __init__(
        self,
        company: Company,
        *,
        seed: int,
        start: datetime,
        rates: Rates = DEFAULT_RATES,
    ) -> None:
        """Prepare the history and the first happenings after ``start``.

        Args:
            company: the reps, products and campaigns to simulate.
            seed: the seed of every random draw; the same seed gives the
                same events.
            start: the simulated time the live part begins (timezone-aware).
            rates: how often things happen.
        """
        super().__init__(company, seed=seed, start=start, rates=rates)
        self._write_history()
        self._start_processes()
        self._script_opening()

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
            return to_millisecond(self.start + timedelta(minutes=minutes))

        deals = sorted(self._deals.values(), key=lambda d: -d.stage)
        self._at(soon(), lambda t: self._close(t, deals[0], won=True))
        self._at(soon(), lambda t: self._close(t, deals[1], won=False))
        subscriptions = list(self._subscriptions.values())
        churned = subscriptions[60:]
        self._at(soon(), self._convert_first_open_lead)
        self._at(
            soon(),
            lambda t: self._contract(t, subscriptions[0], subscriptions[0].version),
        )
        self._at(soon(), lambda t: self._cancel(t, subscriptions[1]))
        self._at(soon(), lambda t: self._reactivate(t, churned[0]))

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
