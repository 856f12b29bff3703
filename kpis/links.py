"""What one entity tells another that lives in another partition.

Some KPIs join entities that are keyed differently: a deal's cycle starts at
its lead's creation, lead-to-sale counts leads whose deal was won, a demo
counts as won when its deal is won, and distinct paying accounts need the
account of each won deal. Folding an event into one entity may therefore
produce links, each addressed to another entity by the key its events are
partitioned by. Links are snapshots with a version, so that applying one
twice, or an older one after a newer one, changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from kpis.facts import Stamp


class LeadSnapshot(NamedTuple):
    """A lead's origin, sent to the deal it became."""

    deal_id: str
    lead_id: str
    created: datetime
    channel: str
    campaign: str
    version: Stamp


class LeadOfDeal(NamedTuple):
    """A deal names its lead (``deal.created`` with a ``lead_id``)."""

    lead_id: str
    deal_id: str


class DemoOfDeal(NamedTuple):
    """A demo given for a deal, sent to the deal."""

    deal_id: str
    activity_id: str
    at: datetime
    rep_id: str


class WinOfAccount(NamedTuple):
    """A deal of an account and when it was won (None: not, or no more)."""

    account_id: str
    deal_id: str
    won: datetime | None
    version: Stamp


Link = LeadSnapshot | LeadOfDeal | DemoOfDeal | WinOfAccount


def link_key(link: Link) -> tuple[str, str]:
    """Return the kind of entity a link is for and that entity's id."""
    if isinstance(link, LeadOfDeal):
        return "lead", link.lead_id
    if isinstance(link, WinOfAccount):
        return "account", link.account_id
    return "deal", link.deal_id
