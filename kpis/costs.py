"""The costs recorded against one campaign (marketing) or one team (sales).

A campaign's costs are one entity, kept by event id so that a repeat changes
nothing. Costs are few (a few a day per campaign or team), but the entity
grows with each and the live engine writes it whole to the changelog when it
changes: about 40 bytes a cost, 15 KB for a year of daily costs. Keeping one
changelog record per cost, as activities do, would bound that; at today's
volumes it is not worth the second restore path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kpis.events import CostCategory, CostRecorded
from kpis.facts import Fact
from kpis.measures import Measure
from kpis.reference import ReferenceData


@dataclass(slots=True)
class CostState:
    """Every cost of one campaign or team, by event id (a repeat is a no-op)."""

    key: str
    entries: dict[str, tuple[datetime, CostCategory, Decimal, str]] = field(
        default_factory=dict
    )

    def fold(self, event: CostRecorded) -> None:
        """Record one cost."""
        data = event.data
        self.entries[event.id] = (event.time, data.category, data.amount, data.currency)

    def facts(self, reference: ReferenceData) -> Iterator[Fact]:
        """Yield the costs, converted at the rate of their time."""
        labels = (self.key,)
        for at, category, amount, currency in self.entries.values():
            converted = reference.rates.to_reporting(amount, currency, at)
            measure = (
                Measure.MARKETING_COST
                if category is CostCategory.MARKETING
                else Measure.SALES_COST
            )
            yield Fact(measure, labels, converted, at)
