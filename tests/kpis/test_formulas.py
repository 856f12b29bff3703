"""The KPI formulas, applied to sums given by hand."""

from __future__ import annotations

from decimal import Decimal

from kpis.formulas import (
    days,
    goal,
    growth,
    lifetime_value,
    net_new_mrr,
    ratio,
    sales,
)


def test_lifetime_value_of_the_worked_example_is_1600() -> None:
    assert lifetime_value(Decimal(100), Decimal("0.8"), Decimal("0.05"), 60) == 1600


def test_lifetime_value_is_capped_and_unknown_without_arpa_or_churn() -> None:
    cap = Decimal(100) * Decimal("0.8") * 60
    assert lifetime_value(Decimal(100), Decimal("0.8"), Decimal(0), 60) == cap
    assert lifetime_value(Decimal(100), Decimal("0.8"), Decimal("0.001"), 60) == cap
    assert lifetime_value(None, Decimal("0.8"), Decimal("0.05"), 60) is None
    assert lifetime_value(Decimal(100), Decimal("0.8"), None, 60) is None


def test_a_ratio_has_no_value_on_a_zero_or_unknown_base() -> None:
    assert ratio(Decimal(3), Decimal(4)) == Decimal("0.75")
    assert ratio(Decimal(3), Decimal(0)) is None
    assert ratio(None, Decimal(4)) is None
    assert ratio(Decimal(3), None) is None


def test_growth_and_days() -> None:
    assert growth(Decimal(500), Decimal(400)) == Decimal("0.25")
    assert growth(Decimal(500), Decimal(0)) is None
    # Two durations summing to three days: 1.5 days on average.
    assert days(Decimal(3 * 86400), Decimal(2)) == Decimal("1.5")
    assert days(Decimal(0), Decimal(0)) is None


def test_net_new_mrr_adds_gains_and_takes_losses() -> None:
    movements = {
        "new": Decimal(100),
        "expansion": Decimal(30),
        "reactivated": Decimal(20),
        "contraction": Decimal(10),
        "churned": Decimal(40),
    }
    assert net_new_mrr(movements) == Decimal(100)
    assert net_new_mrr({"churned": Decimal(40)}) == Decimal(-40)


def test_sales_without_cost_have_no_margin() -> None:
    kept = sales(Decimal(1000), Decimal(400), Decimal(4), Decimal(4000))
    assert kept.net_bookings == Decimal(600)
    assert kept.profit_margin == Decimal("0.6")
    assert kept.average_deal_value == Decimal(250)
    assert kept.average_cost_per_deal == Decimal(100)
    assert kept.share_of_revenue == Decimal("0.25")
    unkept = sales(Decimal(1000), None, Decimal(4), Decimal(4000))
    assert unkept.net_bookings is None
    assert unkept.profit_margin is None
    assert unkept.average_cost_per_deal is None


def test_goal_paces_revenue_over_the_elapsed_share() -> None:
    result = goal(Decimal(5000), Decimal(2000), Decimal(20000), Decimal("0.5"))
    assert result.attainment == Decimal("0.25")
    assert result.projected_revenue == Decimal(10000)
    assert result.projected_attainment == Decimal("0.5")
    assert result.forecast == Decimal(7000)
    assert result.forecast_attainment == Decimal("0.35")
    untargeted = goal(Decimal(5000), Decimal(0), None, Decimal("0.5"))
    assert (untargeted.attainment, untargeted.forecast_attainment) == (None, None)
