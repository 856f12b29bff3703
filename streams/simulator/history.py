"""The opening history: what the business holds before the simulated start.

Customers (some of them churned), open deals at every stage and fresh leads,
all dated before the start, so that the live part starts in a going concern.
"""

from functools import partial

from kpis import events as ev
from kpis.events import Channel, DealKind
from streams.simulator.sales import Sales
from streams.simulator.scheduling import to_millisecond
from streams.simulator.subscriptions import Subscription


class History(Sales):
    """The accounts, open deals and leads dated before the start."""

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
        subscription = Subscription(
            self._next_id("S"),
            self._next_id("A"),
            product.product_id,
            team.currency,
            self._money(product.list_price * seats),
        )
        self._subscriptions[subscription.subscription_id] = subscription
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
                to_millisecond(moved),
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
