"""The text exposition: names, HELP and TYPE, exact values, escaping, order."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from decimal import Decimal

from kpis.exposition import CATALOGUE, Series, exposition, format_value, render
from kpis.measures import Measure
from kpis.reference import ReferenceData
from kpis.state import KpiState
from tests.kpis.builders import deal_created, deal_won, stage_changed

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
PROMTOOL = "/usr/bin/promtool"
REFERENCE = ReferenceData.from_mapping(
    {
        "reps": [{"rep_id": "rep-1", "name": 'Ann "A" O\\Neil', "team": "north"}],
        "targets": [
            {"scope": "company", "key": "", "period": "2026-10", "amount": "100"},
            {"scope": "company", "key": "", "period": "2026-11", "amount": "100"},
            {"scope": "company", "key": "", "period": "2026-12", "amount": "150.5"},
            {"scope": "team", "key": "north", "period": "2026-12", "amount": "90"},
        ],
        "gross_margin_by_product": {"crm-pro": "0.75"},
    }
)


def _text() -> str:
    state = KpiState(REFERENCE)
    assert (
        state.fold_all(
            [
                deal_created("D-1", "2026-12-01T00:00:00Z", amount="10000"),
                stage_changed("D-1", "2026-12-02T00:00:00Z", "proposal"),
                deal_created("D-2", "2026-11-01T00:00:00Z", amount="250.10"),
                deal_won("D-2", "2026-12-03T00:00:00Z", amount="250.10", cost="50"),
            ]
        )
        == []
    )
    return exposition(state.samples(NOW), REFERENCE, NOW)


def test_every_family_follows_the_naming_conventions() -> None:
    for metric in CATALOGUE:
        assert re.fullmatch(r"salespulse_[a-z0-9_]+", metric.name)
        assert not metric.name.endswith("_total")
        assert metric.type == "gauge"
        assert metric.help
    names = {metric.name for metric in CATALOGUE}
    assert {f"salespulse_{m.spec.name}" for m in Measure} <= names


def test_promtool_accepts_the_exposition() -> None:
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=_text(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_values_are_exact_and_labelled() -> None:
    lines = _text().splitlines()
    assert (
        'salespulse_pipeline_weighted_amount{stage="proposal",rep="rep-1",'
        'team="north",region="unassigned",currency="USD"} 5000'
    ) in lines
    assert (
        'salespulse_won_revenue{window="month_to_date",rep="rep-1",team="north",'
        'region="unassigned",currency="USD"} 250.1'
    ) in lines
    assert (
        'salespulse_target_amount{window="month_to_date",scope="company",team="",'
        'rep="",currency="USD"} 150.5'
    ) in lines
    assert not any(
        line.startswith('salespulse_target_amount{window="previous_month",scope="team"')
        for line in lines
    )
    assert 'salespulse_gross_margin_ratio{product="all"} 0.8' in lines
    assert 'salespulse_gross_margin_ratio{product="crm-pro"} 0.75' in lines
    start = (
        'salespulse_window_start_timestamp_seconds{window="month_to_date"} 1796083200'
    )
    assert start in lines
    elapsed = 'salespulse_window_elapsed_ratio{window="month_to_date"} ' + repr(
        14.5 / 31
    )
    assert elapsed in lines
    assert not any('elapsed_ratio{window="previous_month"' in line for line in lines)


def test_quarter_target_adds_up_its_months() -> None:
    lines = _text().splitlines()
    assert (
        'salespulse_target_amount{window="quarter_to_date",scope="company",team="",'
        'rep="",currency="USD"} 350.5'
    ) in lines


def test_label_values_are_escaped() -> None:
    assert (
        'salespulse_rep_info{rep="rep-1",name="Ann \\"A\\" O\\\\Neil",team="north",'
        'region="unassigned"} 1'
    ) in _text().splitlines()


def test_output_is_sorted_and_deterministic() -> None:
    series = [
        Series("salespulse_won_deals", (("window", "b"), ("rep", "x")), Decimal(2)),
        Series("salespulse_ltv_cap_months", (), Decimal(60)),
        Series("salespulse_won_deals", (("window", "a"), ("rep", "x")), Decimal(1)),
    ]
    text = render(series)
    assert text == render(list(reversed(series)))
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    names = [line.split("{")[0].split(" ")[0] for line in samples]
    assert names == ["salespulse_ltv_cap_months", *["salespulse_won_deals"] * 2]
    assert text.index('window="a"') < text.index('window="b"')


def test_decimals_never_use_an_exponent() -> None:
    assert format_value(Decimal("1E+3")) == "1000"
    assert format_value(Decimal("2.50")) == "2.5"
    assert format_value(Decimal("0.00")) == "0"
    assert format_value(Decimal("1E-7")) == "0.0000001"
