"""The subscriptions of the simulated business: start, change, cancel, return.

A subscription's contract shrinks and its customer cancels at random times;
each change makes the changes scheduled before it void, by its version.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TypeVar

from kpis import events as ev
from streams.simulator.company import Company
from streams.simulator.scheduling import Rates, Scheduler

T = TypeVar("T")


@dataclass
class Subscription:
    """A customer's subscription as the billing system holds it."""

    subscription_id: str
    account_id: str
    product_id: str
    currency: str
    mrr: Decimal
    active: bool = True
    version: int = 0


class Subscriptions(Scheduler):
    """The book of subscriptions and what happens to them."""

    def __init__(
        self, company: Company, *, seed: int, start: datetime, rates: Rates
    ) -> None:
        """Start with no subscriptions."""
        super().__init__(company, seed=seed, start=start, rates=rates)
        self._subscriptions: dict[str, Subscription] = {}

    def _subscription_event(
        self, kind: Callable[..., T], time: datetime, subscription: Subscription
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
        self, subscription: Subscription, time: datetime
    ) -> None:
        version = subscription.version
        contract = self._after_days(time, self.rates.days_to_contract)
        cancel = self._after_days(time, self.rates.days_to_cancel)
        self._at(contract, lambda t: self._contract(t, subscription, version))
        self._at(cancel, lambda t: self._cancel(t, subscription, version))

    def _change_mrr(
        self, time: datetime, subscription: Subscription, mrr: Decimal
    ) -> list[ev.Event]:
        subscription.mrr = self._money(mrr)
        subscription.version += 1
        self._schedule_subscription_changes(subscription, time)
        return [self._subscription_event(ev.SubscriptionChanged, time, subscription)]

    def _contract(
        self, time: datetime, subscription: Subscription, version: int
    ) -> list[ev.Event]:
        if not subscription.active or subscription.version != version:
            return []
        share = Decimal(self._random.choice((70, 80, 90))) / 100
        return self._change_mrr(time, subscription, subscription.mrr * share)

    def _cancel(
        self, time: datetime, subscription: Subscription, version: int | None = None
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
        self, time: datetime, subscription: Subscription, version: int | None = None
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
