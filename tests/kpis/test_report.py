"""Window reports of small, hand-written event logs folded through the domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kpis.events import Event
from kpis.periods import Window
from kpis.reference import ReferenceData
from kpis.report import ReportError, WindowReport, window_report
from kpis.state import KpiState
from tests.kpis.builders import (
    activity,
    cost,
    deal_created,
    deal_won,
    lead_created,
    quote_sent,
    stage_changed,
    subscription,
)

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
REFERENCE = ReferenceData.from_mapping(
    {
        "reps": [
            {"rep_id": "rep-1", "name": "Ann", "team": "north", "region": "na"},
            {"rep_id": "rep-2", "name": "Bob", "team": "north", "region": "na"},
        ],
        "targets": [
            {"scope": "company", "key": "", "period": "2026-12", "amount": "20000"},
            {"scope": "rep", "key": "rep-1", "period": "2026-12", "amount": "8000"},
        ],
        "campaign_channels": {"C-1": "web", "C-2": "event"},
    }
)


def report(
    events: Iterable[Event],
    window: Window = Window.MONTH_TO_DATE,
    reference: ReferenceData = REFERENCE,
) -> WindowReport:
    state = KpiState(reference)
    assert state.fold_all(events) == []
    return window_report(list(state.samples(NOW)), reference, NOW, window)


def won(
    deal: str, at: str, amount: str, cost_: str = "0", **created: str
) -> list[Event]:
    return [
        deal_created(deal, "2026-10-01T00:00:00Z", amount=amount, **created),
        deal_won(deal, at, amount=amount, cost=cost_),
    ]


def test_a_deal_of_10000_in_a_stage_weighted_half_adds_5000() -> None:
    result = report(
        [
            deal_created("D-1", "2026-12-01T00:00:00Z", amount="10000"),
            stage_changed("D-1", "2026-12-02T00:00:00Z", "proposal"),
        ]
    )
    assert result.company.weighted_pipeline == Decimal("5000")
    assert result.company.pipeline == Decimal("10000")
    (stage,) = result.stages
    assert (stage.key, stage.weighted_amount, stage.open_deals) == (
        "proposal",
        Decimal("5000"),
        Decimal(1),
    )


def test_100_quotes_and_30_wins_in_a_month_make_quote_to_close_030() -> None:
    events: list[Event] = []
    for number in range(100):
        deal = f"D-{number}"
        events.append(deal_created(deal, "2026-11-20T00:00:00Z"))
        events.append(quote_sent(deal, "2026-12-03T00:00:00Z", f"Q-{number}"))
        if number < 30:
            events.append(deal_won(deal, "2026-12-10T00:00:00Z"))
    result = report(events)
    assert result.company.quotes_sent == 100
    assert result.company.quote_to_close == Decimal("0.3")


def test_lifetime_value_from_folded_subscriptions() -> None:
    # 20 accounts paying 100 from October; one lost in November: churn 1/20.
    events = [
        subscription(
            "started", "2026-10-05T00:00:00Z", "100", account=f"A-{n}",
            subscription_id=f"S-{n}",
        )
        for n in range(20)
    ]  # fmt: skip
    events.append(
        subscription(
            "cancelled",
            "2026-11-10T00:00:00Z",
            "0",
            account="A-0",
            subscription_id="S-0",
        )
    )
    events.append(
        subscription(
            "started", "2026-12-01T00:00:00Z", "100", account="A-20",
            subscription_id="S-20",
        )
    )  # fmt: skip
    result = report(events).company.subscriptions
    assert result.monthly_churn == Decimal("0.05")
    assert result.arpa == Decimal(100)
    assert result.lifetime_value == Decimal(1600)
    assert (result.paying_start, result.paying_end) == (Decimal(19), Decimal(20))
    assert result.churn == 0
    assert result.retention == 1


def test_zero_churn_caps_lifetime_value() -> None:
    events = [subscription("started", "2026-10-05T00:00:00Z", "100")]
    result = report(events).company.subscriptions
    assert result.monthly_churn == 0
    assert result.lifetime_value == Decimal(100) * Decimal("0.8") * 60


def test_zero_base_has_no_growth() -> None:
    result = report(won("D-1", "2026-12-02T00:00:00Z", "500"))
    assert result.company.growth_vs_previous is None
    assert result.company.growth_vs_last_year is None


def test_growth_against_the_previous_month() -> None:
    events = won("D-1", "2026-11-02T00:00:00Z", "400") + won(
        "D-2", "2026-12-02T00:00:00Z", "500"
    )
    assert report(events).company.growth_vs_previous == Decimal("0.25")


def test_churn_and_retention_per_the_spec() -> None:
    # 4 paying at the start of December; 1 lost, 2 gained: churn 1/4,
    # retention (5 - 2) / 4 = 3/4, which is 1 - churn.
    events = [
        subscription(
            "started", "2026-11-01T00:00:00Z", "50", account=f"A-{n}",
            subscription_id=f"S-{n}",
        )
        for n in range(4)
    ]  # fmt: skip
    events.append(
        subscription(
            "cancelled",
            "2026-12-03T00:00:00Z",
            "0",
            account="A-0",
            subscription_id="S-0",
        )
    )
    for n in (4, 5):
        events.append(
            subscription(
                "started", "2026-12-04T00:00:00Z", "50", account=f"A-{n}",
                subscription_id=f"S-{n}",
            )
        )  # fmt: skip
    result = report(events).company.subscriptions
    assert result.churn == Decimal("0.25")
    assert result.retention == Decimal("0.75")
    assert result.revenue_churn == Decimal("0.25")
    assert result.net_new_mrr == Decimal(50)


def test_margin_is_a_ratio_of_sums_not_an_average_of_ratios() -> None:
    events = won("D-1", "2026-12-02T00:00:00Z", "1000", "500", rep="rep-1") + won(
        "D-2", "2026-12-03T00:00:00Z", "9000", "900", rep="rep-2"
    )
    result = report(events)
    (team,) = result.teams
    # (10000 - 1400) / 10000, where the mean of the reps' 0.5 and 0.9 is 0.7.
    assert team.sales.profit_margin == Decimal("0.86")
    assert team.revenue_per_rep == Decimal(5000)
    assert result.company.sales.net_bookings == Decimal(8600)


def test_attainment_pacing_and_forecast_against_the_target() -> None:
    events = won("D-1", "2026-12-02T00:00:00Z", "7000", rep="rep-1")
    events += [
        deal_created(
            "D-2", "2026-12-01T00:00:00Z", amount="4000", close_date="2026-12-20"
        ),
        stage_changed("D-2", "2026-12-02T00:00:00Z", "proposal"),
    ]
    result = report(events)
    goal = result.company.goal
    # 14.5 days of 31 have passed at NOW.
    elapsed = Decimal(repr(14.5 / 31))
    assert goal.target == 20000
    assert goal.attainment == Decimal("0.35")
    assert goal.projected_revenue == Decimal(7000) / elapsed
    assert goal.forecast == Decimal(9000)
    assert goal.forecast_attainment == Decimal("0.45")
    rep = next(row for row in result.reps if row.rep == "rep-1")
    assert rep.goal.attainment == Decimal("0.875")


def test_cost_per_lead_by_campaign_and_by_channel() -> None:
    events = [
        lead_created(f"L-{n}", "2026-12-02T00:00:00Z", "web", "C-1") for n in range(4)
    ]
    events.append(lead_created("L-9", "2026-12-02T00:00:00Z", "event", "C-2"))
    events.append(cost("2026-12-01T00:00:00Z", "1000", campaign="C-1"))
    events.append(cost("2026-12-01T00:00:00Z", "300", campaign="C-2"))
    events.append(cost("2026-12-01T00:00:00Z", "700", category="sales", team="north"))
    result = report(events)
    per_campaign = {row.key: row.cost_per_lead for row in result.campaigns}
    assert per_campaign == {"C-1": Decimal(250), "C-2": Decimal(300)}
    per_channel = {row.key: row.cost_per_lead for row in result.lead_channels}
    assert per_channel == {"event": Decimal(300), "web": Decimal(250)}
    assert result.company.leads.cost_per_lead == Decimal(260)


def test_acquisition_cost_ltv_to_cac_and_payback() -> None:
    # A-0 paid through November (churn 0: the lifetime is capped at 60 months);
    # A-1 is the one account gained in December.
    events = [
        subscription("started", "2026-10-02T00:00:00Z", "100", account="A-0"),
        subscription(
            "started",
            "2026-12-02T00:00:00Z",
            "100",
            account="A-1",
            subscription_id="S-2",
        ),
        cost("2026-12-01T00:00:00Z", "600", campaign="C-1"),
        cost("2026-12-01T00:00:00Z", "400", category="sales", team="north"),
    ]
    result = report(events).company.subscriptions
    assert result.acquisition_cost == Decimal(1000)
    assert result.cac_payback_months == Decimal("12.5")
    assert result.lifetime_value == Decimal(4800)
    assert result.ltv_to_cac == Decimal("4.8")


def test_activities_outcome_shares_and_demos_won() -> None:
    events = won("D-1", "2026-12-10T00:00:00Z", "100")
    events += [
        activity("2026-12-02T00:00:00Z", kind="demo", deal="D-1"),
        activity("2026-12-02T00:00:00Z", kind="demo", outcome="meeting_booked"),
        activity("2026-12-03T00:00:00Z", kind="call", outcome="qualified_lead"),
        activity("2026-12-03T00:00:00Z", kind="call"),
    ]
    result = report(events)
    shares = {row.kind: dict(row.outcome_shares) for row in result.activities}
    assert shares["call"]["qualified_lead"] == Decimal("0.5")
    assert shares["demo"]["meeting_booked"] == Decimal("0.5")
    assert result.company.demo_win_share == Decimal("0.5")


def test_average_deal_value_and_channel_share() -> None:
    events = won("D-1", "2026-12-02T00:00:00Z", "300", channel="web") + won(
        "D-2", "2026-12-03T00:00:00Z", "100", channel="email"
    )
    result = report(events)
    assert result.company.sales.average_deal_value == Decimal(200)
    shares = {row.key: row.sales.share_of_revenue for row in result.channels}
    assert shares == {"web": Decimal("0.75"), "email": Decimal("0.25")}
    assert all(row.sales.profit_margin is None for row in result.channels)


def test_day_windows_are_refused() -> None:
    with pytest.raises(ReportError, match="today"):
        report([], window=Window.TODAY)
