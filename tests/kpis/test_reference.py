"""Reference data: defaults, reps, stage weights, targets and the document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kpis.money import UnknownCurrency
from kpis.periods import Calendar, Grain
from kpis.reference import (
    DEFAULT_STAGE_WEIGHTS,
    UNASSIGNED,
    ReferenceData,
    ReferenceError,
    Rep,
)

DOCUMENT: dict[str, Any] = {
    "reporting_currency": "EUR",
    "timezone": "Europe/Berlin",
    "fiscal_year_start_month": 4,
    "stage_weights": {"proposal": "0.5", "verbal": "0.9"},
    "reps": [{"rep_id": "rep-1", "name": "Ava", "team": "na", "region": "NA"}],
    "targets": [
        {"scope": "team", "key": "na", "period": "2026-12", "amount": "120000"},
        {"scope": "company", "period": "FY2027", "amount": "5000000"},
    ],
    "exchange_rates": {"USD": [{"from": "2026-01-01T00:00:00Z", "rate": "0.92"}]},
    "gross_margin": "0.75",
    "gross_margin_by_product": {"platform": "0.85"},
    "ltv_cap_months": 48,
    "churn_months": 3,
    "campaign_channels": {"cmp-search": "web"},
}


def month_targets(*labels: str) -> dict[tuple[str, str, str], Decimal]:
    """Return a team target of 100 for each month label."""
    return {("team", "na", label): Decimal(100) for label in labels}


def test_defaults() -> None:
    reference = ReferenceData()

    assert reference.calendar == Calendar("UTC", 1)
    assert reference.rates.reporting_currency == "USD"
    assert reference.stage_weight("negotiation") == Decimal("0.8")
    assert reference.gross_margin == Decimal("0.8")
    assert (reference.ltv_cap_months, reference.churn_months) == (60, 1)
    assert ReferenceData.from_mapping({}) == reference


def test_default_stage_weights_match_the_simulator_stages() -> None:
    assert dict(DEFAULT_STAGE_WEIGHTS) == {
        "prospecting": Decimal("0.1"),
        "qualification": Decimal("0.2"),
        "proposal": Decimal("0.5"),
        "negotiation": Decimal("0.8"),
    }


def test_an_unknown_stage_weighs_nothing() -> None:
    assert ReferenceData().stage_weight("closed_won") == Decimal(0)


def test_a_rep_missing_from_the_directory_is_unassigned() -> None:
    reference = ReferenceData(reps={"rep-1": Rep("rep-1", "Ava", "na", "NA")})

    assert reference.rep("rep-1") == Rep("rep-1", "Ava", "na", "NA")
    assert reference.rep("rep-9") == Rep("rep-9", "rep-9", UNASSIGNED, UNASSIGNED)
    assert reference.rep("rep-9") is reference.rep("rep-9")


def test_a_target_of_the_period_itself() -> None:
    reference = ReferenceData(targets={("rep", "rep-1", "2026-12"): Decimal(900)})
    december = reference.calendar.period_of_label("2026-12")

    assert reference.target("rep", "rep-1", december) == Decimal(900)
    assert reference.target("rep", "rep-2", december) is None
    assert reference.target("team", "rep-1", december) is None


def test_a_quarter_target_is_the_sum_of_its_months() -> None:
    reference = ReferenceData(
        targets={
            ("team", "na", "2026-10"): Decimal("100"),
            ("team", "na", "2026-11"): Decimal("150"),
            ("team", "na", "2026-12"): Decimal("250.50"),
        }
    )
    quarter = reference.calendar.period_of_label("FY2026-Q4")

    assert reference.target("team", "na", quarter) == Decimal("500.50")


def test_a_quarter_with_a_month_missing_has_no_target() -> None:
    reference = ReferenceData(targets=month_targets("2026-10", "2026-12"))
    quarter = reference.calendar.period_of_label("FY2026-Q4")

    assert reference.target("team", "na", quarter) is None


def test_a_quarters_own_target_wins_over_its_months() -> None:
    targets = month_targets("2026-10", "2026-11", "2026-12")
    targets["team", "na", "FY2026-Q4"] = Decimal(1000)
    reference = ReferenceData(targets=targets)

    quarter = reference.calendar.period_of_label("FY2026-Q4")

    assert reference.target("team", "na", quarter) == Decimal(1000)


def test_a_fiscal_year_target_is_summed_from_its_months() -> None:
    calendar = Calendar(fiscal_year_start_month=4)
    labels = [f"2026-{month:02d}" for month in range(4, 13)] + [
        "2027-01",
        "2027-02",
        "2027-03",
    ]
    reference = ReferenceData(calendar=calendar, targets=month_targets(*labels))
    year = calendar.period(Grain.YEAR, datetime(2026, 5, 10, tzinfo=UTC))

    assert year.label == "FY2027"
    assert reference.target("team", "na", year) == Decimal(1200)
    shorter = ReferenceData(calendar=calendar, targets=month_targets(*labels[1:]))
    assert shorter.target("team", "na", year) is None


def test_from_mapping_reads_every_field() -> None:
    reference = ReferenceData.from_mapping(DOCUMENT)
    july = datetime(2026, 7, 1, tzinfo=UTC)
    december = reference.calendar.period_of_label("2026-12")

    assert reference.calendar == Calendar("Europe/Berlin", 4)
    assert reference.rates.to_reporting(Decimal(100), "USD", july) == Decimal("92.00")
    with pytest.raises(UnknownCurrency):
        reference.rates.to_reporting(Decimal(100), "GBP", july)
    assert dict(reference.stage_weights) == {
        "proposal": Decimal("0.5"),
        "verbal": Decimal("0.9"),
    }
    assert reference.stage_weight("negotiation") == Decimal(0)
    assert reference.rep("rep-1") == Rep("rep-1", "Ava", "na", "NA")
    assert reference.target("team", "na", december) == Decimal(120000)
    assert reference.target(
        "company", "", reference.calendar.period_of_label("FY2027")
    ) == Decimal(5000000)
    assert reference.gross_margin == Decimal("0.75")
    assert dict(reference.gross_margin_by_product) == {"platform": Decimal("0.85")}
    assert (reference.ltv_cap_months, reference.churn_months) == (48, 3)
    assert dict(reference.campaign_channels) == {"cmp-search": "web"}


def test_round_trip_through_json() -> None:
    reference = ReferenceData.from_mapping(DOCUMENT)

    document = json.loads(json.dumps(reference.to_mapping()))

    assert ReferenceData.from_mapping(document) == reference
    assert document["exchange_rates"] == {
        "USD": [{"from": "2026-01-01T00:00:00Z", "rate": "0.92"}]
    }
    assert document["targets"][1] == {
        "scope": "company",
        "key": "",
        "period": "FY2027",
        "amount": "5000000",
    }


def test_a_rep_with_only_an_id_is_its_own_name_and_unassigned() -> None:
    reference = ReferenceData.from_mapping({"reps": [{"rep_id": "rep-7"}]})

    assert reference.rep("rep-7") == Rep("rep-7", "rep-7", UNASSIGNED, UNASSIGNED)


def with_field(**changes: Any) -> dict[str, Any]:
    """Return the document with top-level fields replaced."""
    return {**DOCUMENT, **changes}


def target(**changes: Any) -> dict[str, Any]:
    """Return the document with one target built from a good one."""
    entry = {"scope": "team", "key": "na", "period": "2026-12", "amount": "1"}
    return with_field(targets=[entry, entry | changes])


BAD_DOCUMENTS = [
    (with_field(colour="red"), "colour: not a reference data field; accepted: "),
    ([], "reference data: [] is not an object"),
    (with_field(reporting_currency="EURO"), "reporting_currency: 'EURO' is not an"),
    (with_field(timezone="Europe/Atlantis"), "timezone: 'Europe/Atlantis' is not"),
    (with_field(fiscal_year_start_month=13), "fiscal_year_start_month: 13 is not"),
    (with_field(fiscal_year_start_month="4"), "fiscal_year_start_month: '4' is not"),
    (with_field(stage_weights=["proposal"]), "stage_weights: ['proposal'] is not an"),
    (
        with_field(stage_weights={"proposal": "1.5"}),
        "stage_weights.proposal: '1.5' is not a decimal from 0 to 1",
    ),
    (
        with_field(stage_weights={"proposal": "half"}),
        "stage_weights.proposal: 'half' is not a decimal",
    ),
    (
        with_field(stage_weights={"proposal": "NaN"}),
        "stage_weights.proposal: 'NaN' is not a decimal",
    ),
    (with_field(stage_weights={"": "0.5"}), "stage_weights.: '' is not a non-empty"),
    (with_field(reps={"rep-1": "Ava"}), "reps: {'rep-1': 'Ava'} is not a list"),
    (with_field(reps=[{"name": "Ava"}]), "reps[0].rep_id: missing"),
    (with_field(reps=[{"rep_id": ""}]), "reps[0].rep_id: '' is not a non-empty"),
    (with_field(reps=[{"rep_id": "r", "team": 7}]), "reps[0].team: 7 is not a"),
    (
        with_field(reps=[{"rep_id": "r", "email": "a@b"}]),
        "reps[0].email: not a field here; accepted: rep_id, name, team, region",
    ),
    (
        with_field(reps=[{"rep_id": "r"}, {"rep_id": "r"}]),
        "reps[1].rep_id: 'r' is listed twice",
    ),
    (with_field(targets={}), "targets: {} is not a list"),
    (with_field(targets=["x"]), "targets[0]: 'x' is not an object"),
    (
        target(period="2026-13"),
        "targets[1].period: '2026-13' is not a month, quarter or fiscal-year label",
    ),
    (
        target(period="2026-W49"),
        "targets[1].period: '2026-W49' is not a month, quarter or fiscal-year label",
    ),
    (target(period=202612), "targets[1].period: 202612 is not a month"),
    (target(scope="region"), "targets[1].scope: 'region' is not one of company"),
    (target(scope="company"), "targets[1].key: 'na' is not '' (a company target)"),
    (target(key=""), "targets[1].key: '' is not a non-empty string"),
    (
        target(period="2026-11", amount="-1"),
        "targets[1].amount: '-1' is not an amount of 0 or more",
    ),
    (target(period="2026-11", amount=True), "targets[1].amount: True is not an amount"),
    (target(), "targets[1]: a second target for team 'na' in 2026-12"),
    (
        with_field(targets=[{"scope": "team", "key": "na", "amount": "1"}]),
        "targets[0].period: missing",
    ),
    (with_field(exchange_rates=[]), "exchange_rates: [] is not an object"),
    (
        with_field(exchange_rates={"XYZ": []}),
        "exchange_rates.XYZ: 'XYZ' is not an active ISO 4217 currency code",
    ),
    (
        with_field(exchange_rates={"EUR": [{"from": "2026-01-01Z", "rate": "1"}]}),
        "exchange_rates.EUR: the reporting currency EUR always has the rate 1",
    ),
    (with_field(exchange_rates={"USD": []}), "exchange_rates.USD: an empty list"),
    (
        with_field(exchange_rates={"USD": [{"from": "2026-01-01T00:00:00"}]}),
        "exchange_rates.USD[0].rate: missing",
    ),
    (
        with_field(
            exchange_rates={"USD": [{"from": "2026-01-01T00:00:00", "rate": "1"}]}
        ),
        "exchange_rates.USD[0].from: '2026-01-01T00:00:00' is not an RFC 3339 time",
    ),
    (
        with_field(exchange_rates={"USD": [{"from": "yesterday", "rate": "1"}]}),
        "exchange_rates.USD[0].from: 'yesterday' is not an RFC 3339",
    ),
    (
        with_field(
            exchange_rates={"USD": [{"from": "2026-01-01T00:00:00Z", "rate": "0"}]}
        ),
        "exchange_rates.USD[0].rate: '0' is not a decimal above 0",
    ),
    (
        with_field(
            exchange_rates={
                "USD": [
                    {"from": "2026-01-01T00:00:00Z", "rate": "1"},
                    {"from": "2026-01-01T01:00:00+01:00", "rate": "2"},
                ]
            }
        ),
        "exchange_rates: rates['USD'][1]: a second rate from 2026-01-01T01:00:00+01:00",
    ),
    (with_field(gross_margin="80%"), "gross_margin: '80%' is not a decimal from 0"),
    (with_field(gross_margin="-0.1"), "gross_margin: '-0.1' is not a decimal from 0"),
    (
        with_field(gross_margin_by_product={"platform": 2}),
        "gross_margin_by_product.platform: 2 is not a decimal from 0 to 1",
    ),
    (with_field(ltv_cap_months=0), "ltv_cap_months: 0 is not a whole number of"),
    (with_field(ltv_cap_months=1.5), "ltv_cap_months: 1.5 is not a whole number"),
    (with_field(churn_months=True), "churn_months: True is not a whole number"),
    (
        with_field(campaign_channels={"cmp-search": "radio"}),
        "campaign_channels.cmp-search: 'radio' is not a channel; accepted: email",
    ),
    (with_field(campaign_channels="web"), "campaign_channels: 'web' is not an object"),
]


@pytest.mark.parametrize(("document", "message"), BAD_DOCUMENTS)
def test_every_bad_value_names_its_field(document: Any, message: str) -> None:
    with pytest.raises(ReferenceError) as raised:
        ReferenceData.from_mapping(document)

    assert str(raised.value).startswith(message)
