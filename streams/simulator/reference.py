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


# Monthly quotas, in the reporting currency, near what the default company
# sells in a month (a replay of a simulated year: 240,000 to 490,000 a team),
# so that attainment on a wall hovers around 100 %.
MONTHLY_TEAM_TARGETS: Final = {
    "na-new-business": Decimal("500000"),
    "na-accounts": Decimal("260000"),
    "emea-new-business": Decimal("450000"),
    "apac": Decimal("450000"),
}
# Targets are written for this many months before and after the given month.
_TARGET_MONTHS_AROUND: Final = 13


def reference_document(
    company: Company, around: datetime | None = None
) -> dict[str, Any]:
    """Return the company's reps, stage weights, rates and campaign channels.

    With ``around``, also monthly targets for each team, each rep (the team's
    share) and the company, for the months within a year or so of it.

    The document is in :meth:`kpis.reference.ReferenceData.from_mapping`'s
    format, ready to be written as JSON for ``salespulse replay --reference``
    or imported into Redis with ``salespulse reference import``.
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
        "targets": [] if around is None else _targets(company, around),
    }


def _targets(company: Company, around: datetime) -> list[dict[str, str]]:
    """Return monthly targets for the company, its teams and its reps."""
    first = around.year * 12 + around.month - 1 - _TARGET_MONTHS_AROUND
    months = [
        f"{index // 12:04d}-{index % 12 + 1:02d}"
        for index in range(first, first + 2 * _TARGET_MONTHS_AROUND + 1)
    ]
    targets = []
    for month in months:
        total = Decimal(0)
        for team, quota in MONTHLY_TEAM_TARGETS.items():
            total += quota
            targets.append(_target("team", team, month, quota))
            reps = [rep for rep in company.reps if rep.team == team]
            for rep in reps:
                share = (quota / len(reps)).quantize(Decimal("0.01"))
                targets.append(_target("rep", rep.rep_id, month, share))
        targets.append(_target("company", "", month, total))
    return targets


def _target(scope: str, key: str, period: str, amount: Decimal) -> dict[str, str]:
    return {"scope": scope, "key": key, "period": period, "amount": str(amount)}
