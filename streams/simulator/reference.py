"""The simulated company's reference data, as a reference file holds it."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from streams.simulator.company import Company

REPORTING_CURRENCY: Final = "USD"

# The simulator's events carry no exchange rates; these fixed rates, in effect
# from long before any simulated event, convert its team currencies.
EXCHANGE_RATES: Final = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
_RATES_FROM: Final = datetime(2000, 1, 1, tzinfo=UTC)


def reference_document(company: Company) -> dict[str, Any]:
    """Return the company's reps, stage weights and campaign channels.

    The document is in :meth:`kpis.reference.ReferenceData.from_mapping`'s
    format, ready to be written as JSON for ``salespulse replay --reference``.
    """
    currencies = {team.currency for team in company.teams}
    currencies.add(company.marketing_currency)
    currencies.discard(REPORTING_CURRENCY)
    return {
        "reporting_currency": REPORTING_CURRENCY,
        "stage_weights": {stage.name: str(stage.weight) for stage in company.stages},
        "reps": [
            {
                "rep_id": rep.rep_id,
                "name": rep.name,
                "team": rep.team,
                "region": rep.region,
            }
            for rep in company.reps
        ],
        "exchange_rates": {
            currency: [
                {
                    "from": _RATES_FROM.isoformat().replace("+00:00", "Z"),
                    "rate": str(EXCHANGE_RATES[currency]),
                }
            ]
            for currency in sorted(currencies)
        },
        "campaign_channels": {
            campaign.campaign_id: campaign.channel.value
            for campaign in company.campaigns
        },
    }
