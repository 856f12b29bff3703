"""An account's truth: its subscriptions' MRR over time and its won deals.

MRR movements are classified at the account, not the subscription: an account
whose one subscription is cancelled while another goes on has contracted, not
churned. The account's MRR is the sum of its subscriptions' latest MRR, each
converted at the time of the event that set it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kpis.events import SubscriptionData
from kpis.facts import Fact, Stamp
from kpis.links import WinOfAccount
from kpis.measures import Measure
from kpis.periods import Grain
from kpis.reference import ReferenceData

_ONE = Decimal(1)
_ZERO = Decimal(0)

# Distinct accounts with a win are counted once per month, quarter and year.
_DISTINCT_GRAINS = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)


class Movement(StrEnum):
    """How a change of an account's MRR is classified."""

    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURNED = "churned"
    REACTIVATED = "reactivated"


@dataclass(slots=True)
class AccountState:
    """Everything known about one account."""

    account_id: str
    # Per subscription, each event's MRR after the event and its currency.
    subscriptions: dict[str, dict[Stamp, tuple[Decimal, str]]] = field(
        default_factory=dict
    )
    wins: dict[str, WinOfAccount] = field(default_factory=dict)

    def fold(self, stamp: Stamp, data: SubscriptionData) -> None:
        """Apply one subscription event."""
        history = self.subscriptions.setdefault(data.subscription_id, {})
        history[stamp] = (data.mrr, data.currency)

    def apply(self, link: WinOfAccount) -> None:
        """Learn whether, and when, one of the account's deals was won."""
        known = self.wins.get(link.deal_id)
        if known is None or link.version > known.version:
            self.wins[link.deal_id] = link

    def facts(self, reference: ReferenceData) -> Iterator[Fact]:
        """Yield what the account adds to the sums as it stands."""
        yield from self._subscription_facts(reference)
        yield from self._win_facts(reference)

    def _subscription_facts(self, reference: ReferenceData) -> Iterator[Fact]:
        timeline = sorted(
            (stamp, subscription_id, mrr, currency)
            for subscription_id, history in self.subscriptions.items()
            for stamp, (mrr, currency) in history.items()
        )
        current: dict[str, Decimal] = {}
        total = _ZERO
        has_paid = False
        for (at, _), subscription_id, mrr, currency in timeline:
            converted = reference.rates.to_reporting(mrr, currency, at)
            before = total
            total += converted - current.get(subscription_id, _ZERO)
            current[subscription_id] = converted
            if total != before:
                yield Fact(Measure.MRR, (), total - before, at)
            yield from _movement(before, total, at, has_paid)
            has_paid = has_paid or total > 0

    def _win_facts(self, reference: ReferenceData) -> Iterator[Fact]:
        won = sorted(link.won for link in self.wins.values() if link.won is not None)
        calendar = reference.calendar
        for grain in _DISTINCT_GRAINS:
            counted: set[int] = set()
            for at in won:
                bucket = calendar.bucket(grain, at)
                if bucket not in counted:
                    counted.add(bucket)
                    yield Fact(Measure.WON_ACCOUNTS, (), _ONE, at, grain)


def _movement(
    before: Decimal, after: Decimal, at: datetime, has_paid: bool
) -> Iterator[Fact]:
    """Yield the MRR movement and account counts of one change of MRR."""
    if before == 0 and after > 0:
        movement = Movement.REACTIVATED if has_paid else Movement.NEW
        yield Fact(Measure.MRR_MOVEMENT, (movement.value,), after, at)
        yield Fact(Measure.ACCOUNTS_GAINED, (), _ONE, at)
        yield Fact(Measure.PAYING_ACCOUNTS, (), _ONE, at)
        if not has_paid:
            yield Fact(Measure.ACCOUNTS_NEW, (), _ONE, at)
    elif before > 0 and after == 0:
        yield Fact(Measure.MRR_MOVEMENT, (Movement.CHURNED.value,), before, at)
        yield Fact(Measure.ACCOUNTS_LOST, (), _ONE, at)
        yield Fact(Measure.PAYING_ACCOUNTS, (), -_ONE, at)
    elif after > before:
        yield Fact(
            Measure.MRR_MOVEMENT, (Movement.EXPANSION.value,), after - before, at
        )
    elif after < before:
        yield Fact(
            Measure.MRR_MOVEMENT, (Movement.CONTRACTION.value,), before - after, at
        )
