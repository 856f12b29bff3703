"""A lead's truth: where it came from, when, and which deal it became."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from kpis.events import LeadConverted, LeadCreated
from kpis.facts import UNKNOWN, Fact, Stamp, seconds_between
from kpis.links import LeadOfDeal, LeadSnapshot, Link
from kpis.measures import Measure

LeadEvent = LeadCreated | LeadConverted


@dataclass(slots=True)
class LeadState:
    """Everything known about one lead.

    Its deal is the one of its latest ``lead.converted``, else the one whose
    ``deal.created`` names the lead: CRMs do not always send the conversion.
    """

    lead_id: str
    created: tuple[Stamp, str, str] | None = None
    converted: tuple[Stamp, str] | None = None
    named_by_deal: str | None = None

    def fold(self, event: LeadEvent) -> list[Link]:
        """Apply one event; return the snapshot for its deal, if it changed."""
        stamp = (event.time, event.id)
        if isinstance(event, LeadCreated):
            if self.created is not None and stamp <= self.created[0]:
                return []
            data = event.data
            self.created = (stamp, str(data.channel), data.campaign_id)
        else:
            if self.converted is not None and stamp <= self.converted[0]:
                return []
            self.converted = (stamp, event.data.deal_id)
        return self._snapshot()

    def apply(self, link: LeadOfDeal) -> list[Link]:
        """Learn the deal that names this lead; return the snapshot for it."""
        if self.named_by_deal == link.deal_id:
            return []
        self.named_by_deal = link.deal_id
        return self._snapshot()

    @property
    def deal_id(self) -> str | None:
        """Return the deal this lead became, if known."""
        return self.converted[1] if self.converted is not None else self.named_by_deal

    def _snapshot(self) -> list[Link]:
        deal_id = self.deal_id
        if deal_id is None or self.created is None:
            return []
        stamp, channel, campaign = self.created
        version = max(stamp, self.converted[0]) if self.converted else stamp
        return [
            LeadSnapshot(deal_id, self.lead_id, stamp[0], channel, campaign, version)
        ]

    def facts(self) -> Iterator[Fact]:
        """Yield what the lead adds to the sums as it stands."""
        if self.created is not None:
            stamp, channel, campaign = self.created
            origin = (channel, campaign)
            yield Fact(Measure.LEADS_CREATED, origin, Decimal(1), stamp[0])
        else:
            origin = (UNKNOWN, UNKNOWN)
        if self.converted is None:
            return
        converted_at = self.converted[0][0]
        yield Fact(Measure.LEADS_CONVERTED, origin, Decimal(1), converted_at)
        if self.created is not None:
            waited = seconds_between(self.created[0][0], converted_at)
            yield Fact(Measure.LEAD_CONVERSION_SECONDS, origin, waited, converted_at)
            yield Fact(Measure.LEADS_CONVERTED_TIMED, origin, Decimal(1), converted_at)
