"""One valid CloudEvent of each type, as a user's own system would send it."""

from __future__ import annotations

import json
from typing import Any

TIME = "2026-11-30T14:05:00+01:00"

DATA: dict[str, dict[str, Any]] = {
    "deal.created": {
        "deal_id": "D-1",
        "rep_id": "rep-7",
        "account_id": "A-1",
        "product": "analytics-pro",
        "amount": 12000.50,
        "currency": "EUR",
        "channel": "referral",
        "kind": "new",
        "lead_id": "L-1",
        "close_date": "2026-12-20",
    },
    "deal.stage_changed": {"deal_id": "D-1", "stage": "proposal"},
    "deal.quote_sent": {
        "deal_id": "D-1",
        "quote_id": "Q-1",
        "amount": 11500,
        "currency": "EUR",
    },
    "deal.won": {"deal_id": "D-1", "amount": 11500, "cost": 2300, "currency": "EUR"},
    "deal.lost": {"deal_id": "D-2", "reason": "price"},
    "activity.logged": {
        "activity_id": "ACT-1",
        "rep_id": "rep-7",
        "kind": "demo",
        "outcome": "meeting_booked",
        "deal_id": "D-1",
    },
    "lead.created": {"lead_id": "L-1", "channel": "web", "campaign_id": "C-1"},
    "lead.converted": {"lead_id": "L-1", "deal_id": "D-1"},
    "subscription.started": {
        "subscription_id": "S-1",
        "account_id": "A-1",
        "mrr": 950,
        "currency": "USD",
    },
    "subscription.changed": {
        "subscription_id": "S-1",
        "account_id": "A-1",
        "mrr": 1200,
        "currency": "USD",
    },
    "subscription.cancelled": {
        "subscription_id": "S-1",
        "account_id": "A-1",
        "mrr": 0,
        "currency": "USD",
    },
    "subscription.reactivated": {
        "subscription_id": "S-1",
        "account_id": "A-1",
        "mrr": 900,
        "currency": "USD",
    },
    "cost.recorded": {
        "category": "marketing",
        "amount": 4000,
        "currency": "GBP",
        "campaign_id": "C-1",
    },
}


def envelope(event_type: str, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Return a CloudEvents 1.0 structured-mode document."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "crm/test",
        "type": event_type,
        "time": TIME,
        "datacontenttype": "application/json",
        "data": data,
    }


def sample(event_type: str, event_id: str | None = None) -> bytes:
    """Return the JSON bytes of the sample event of ``event_type``."""
    document = envelope(event_type, event_id or f"evt-{event_type}", DATA[event_type])
    return json.dumps(document).encode()
