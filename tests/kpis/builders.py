"""Events for domain tests, built with only the fields a test cares about."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from kpis.events import Event, decode_event

_ids = itertools.count(1)


def event(
    event_type: str, at: str | datetime, event_id: str | None = None, **data: Any
) -> Event:
    """Return a decoded event of ``event_type`` at ``at`` with ``data``."""
    time = at if isinstance(at, str) else at.isoformat()
    document = {
        "specversion": "1.0",
        "id": event_id or f"test-{next(_ids)}",
        "source": "tests",
        "type": event_type,
        "time": time,
        "data": {k: v for k, v in data.items() if v is not None},
    }
    return decode_event(json.dumps(document).encode())


def deal_created(
    deal_id: str,
    at: str,
    *,
    rep: str = "rep-1",
    account: str = "A-1",
    product: str = "crm-pro",
    amount: str = "1000",
    currency: str = "USD",
    channel: str = "web",
    kind: str = "new",
    lead: str | None = None,
    close_date: str | None = None,
    event_id: str | None = None,
) -> Event:
    """Return a ``deal.created``."""
    return event(
        "deal.created",
        at,
        event_id,
        deal_id=deal_id,
        rep_id=rep,
        account_id=account,
        product=product,
        amount=amount,
        currency=currency,
        channel=channel,
        kind=kind,
        lead_id=lead,
        close_date=close_date,
    )


def stage_changed(
    deal_id: str,
    at: str,
    stage: str,
    probability: str | None = None,
    close_date: str | None = None,
) -> Event:
    """Return a ``deal.stage_changed``."""
    return event(
        "deal.stage_changed",
        at,
        deal_id=deal_id,
        stage=stage,
        probability=probability,
        close_date=close_date,
    )


def quote_sent(deal_id: str, at: str, quote: str, amount: str = "1000") -> Event:
    """Return a ``deal.quote_sent`` in USD."""
    return event(
        "deal.quote_sent",
        at,
        deal_id=deal_id,
        quote_id=quote,
        amount=amount,
        currency="USD",
    )


def deal_won(
    deal_id: str, at: str, amount: str = "1000", cost: str = "0", currency: str = "USD"
) -> Event:
    """Return a ``deal.won``."""
    return event(
        "deal.won", at, deal_id=deal_id, amount=amount, cost=cost, currency=currency
    )


def deal_lost(deal_id: str, at: str) -> Event:
    """Return a ``deal.lost``."""
    return event("deal.lost", at, deal_id=deal_id, reason="price")


def lead_created(
    lead_id: str, at: str, channel: str = "web", campaign: str = "C-1"
) -> Event:
    """Return a ``lead.created``."""
    return event(
        "lead.created", at, lead_id=lead_id, channel=channel, campaign_id=campaign
    )


def lead_converted(lead_id: str, at: str, deal_id: str) -> Event:
    """Return a ``lead.converted``."""
    return event("lead.converted", at, lead_id=lead_id, deal_id=deal_id)


def activity(
    at: str,
    *,
    rep: str = "rep-1",
    kind: str = "call",
    outcome: str = "none",
    deal: str | None = None,
    event_id: str | None = None,
) -> Event:
    """Return an ``activity.logged``."""
    return event(
        "activity.logged",
        at,
        event_id,
        activity_id=f"act-{next(_ids)}",
        rep_id=rep,
        kind=kind,
        outcome=outcome,
        deal_id=deal,
    )


def subscription(
    change: str,
    at: str,
    mrr: str,
    *,
    account: str = "A-1",
    subscription_id: str = "S-1",
    currency: str = "USD",
) -> Event:
    """Return a ``subscription.<change>`` (started, changed, ...)."""
    return event(
        f"subscription.{change}",
        at,
        subscription_id=subscription_id,
        account_id=account,
        mrr=mrr,
        currency=currency,
    )


def cost(
    at: str,
    amount: str,
    *,
    category: str = "marketing",
    campaign: str | None = "C-1",
    team: str | None = None,
    currency: str = "USD",
) -> Event:
    """Return a ``cost.recorded``."""
    return event(
        "cost.recorded",
        at,
        category=category,
        amount=amount,
        currency=currency,
        campaign_id=campaign if category == "marketing" else None,
        team=team if category == "sales" else None,
    )
