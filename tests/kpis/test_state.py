"""Folding events into the domain state: hand-computed sums and edge cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kpis.events import InvalidEvent, RejectReason
from kpis.ledger import Sample
from kpis.measures import Measure
from kpis.money import ExchangeRates
from kpis.periods import Calendar
from kpis.reference import ReferenceData, Rep
from kpis.state import KpiState
from tests.kpis.builders import (
    activity,
    cost,
    deal_created,
    deal_lost,
    deal_won,
    lead_converted,
    lead_created,
    quote_sent,
    stage_changed,
    subscription,
)

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
DAY = 86400


def value(samples: Iterable[Sample], measure: Measure, **labels: str) -> Decimal | None:
    """Return the one sample of ``measure`` whose labels include ``labels``."""
    found = [
        sample.value
        for sample in samples
        if sample.measure is measure and labels.items() <= dict(sample.labels).items()
    ]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} samples of {measure} match {labels}")
    return found[0] if found else None


def fold(*events: object, reference: ReferenceData | None = None) -> list[Sample]:
    state = KpiState(reference or ReferenceData())
    assert state.fold_all(events) == []  # type: ignore[arg-type]
    return list(state.samples(NOW))


def test_a_won_deal_counts_in_the_month_of_its_win() -> None:
    samples = fold(
        deal_created("D-1", "2026-11-20T10:00:00Z", rep="rep-1", amount="5000"),
        deal_won("D-1", "2026-12-02T10:00:00Z", amount="4800.55", cost="1200.10"),
    )
    month = {"window": "month_to_date", "rep": "rep-1"}
    assert value(samples, Measure.WON_REVENUE, **month) == Decimal("4800.55")
    assert value(samples, Measure.WON_COST, **month) == Decimal("1200.10")
    assert value(samples, Measure.WON_DEALS, **month) == 1
    assert value(samples, Measure.WON_REVENUE, window="previous_month") is None
    assert value(samples, Measure.WON_REVENUE, window="quarter_to_date") == Decimal(
        "4800.55"
    )
    # Twelve days from creation to the win, for the new-deal duration and cycle.
    assert value(samples, Measure.NEW_WON_DURATION_SECONDS, **month) == 12 * DAY
    assert value(samples, Measure.WON_CYCLE_SECONDS, **month) == 12 * DAY
    assert value(samples, Measure.OPEN_DEALS) is None


def test_weighted_pipeline_moves_with_the_stage_and_leaves_on_the_outcome() -> None:
    created = deal_created("D-1", "2026-12-01T09:00:00Z", amount="10000")
    proposal = stage_changed("D-1", "2026-12-02T09:00:00Z", "proposal")
    state = KpiState(ReferenceData())
    state.fold_all([created, proposal])
    samples = list(state.samples(NOW))
    labels = {"stage": "proposal", "rep": "rep-1"}
    # The spec's example: 10,000 in a stage weighted 0.5 adds 5,000.
    assert value(samples, Measure.PIPELINE_WEIGHTED_AMOUNT, **labels) == 5000
    assert value(samples, Measure.PIPELINE_AMOUNT, **labels) == 10000

    state.fold_all([stage_changed("D-1", "2026-12-03T09:00:00Z", "negotiation")])
    samples = list(state.samples(NOW))
    assert value(samples, Measure.PIPELINE_WEIGHTED_AMOUNT, **labels) is None
    assert value(
        samples, Measure.PIPELINE_WEIGHTED_AMOUNT, stage="negotiation"
    ) == Decimal("8000.0")

    state.fold_all([deal_lost("D-1", "2026-12-04T09:00:00Z")])
    samples = list(state.samples(NOW))
    assert value(samples, Measure.PIPELINE_WEIGHTED_AMOUNT, stage="negotiation") is None


def test_a_deal_probability_overrides_its_stage_weight() -> None:
    samples = fold(
        deal_created("D-1", "2026-12-01T09:00:00Z", amount="10000"),
        stage_changed("D-1", "2026-12-02T09:00:00Z", "proposal", probability="0.35"),
    )
    assert value(samples, Measure.PIPELINE_WEIGHTED_AMOUNT, stage="proposal") == 3500


def test_a_stage_change_before_its_creation_is_not_lost() -> None:
    samples = fold(
        stage_changed("D-1", "2026-12-02T09:00:00Z", "proposal"),
        deal_created("D-1", "2026-12-01T09:00:00Z", amount="10000"),
    )
    assert value(samples, Measure.PIPELINE_WEIGHTED_AMOUNT, stage="proposal") == 5000


def test_the_latest_stage_by_event_time_wins_whatever_the_arrival() -> None:
    samples = fold(
        deal_created("D-1", "2026-12-01T09:00:00Z", amount="1000"),
        stage_changed("D-1", "2026-12-05T09:00:00Z", "negotiation"),
        stage_changed("D-1", "2026-12-02T09:00:00Z", "proposal"),
    )
    assert value(samples, Measure.OPEN_DEALS, stage="negotiation") == 1
    assert value(samples, Measure.OPEN_DEALS, stage="proposal") is None


def test_a_won_deal_without_creation_counts_under_unknown_then_moves() -> None:
    state = KpiState(ReferenceData())
    state.fold_all([deal_won("D-9", "2026-12-03T10:00:00Z", amount="700")])
    samples = list(state.samples(NOW))
    assert (
        value(samples, Measure.WON_REVENUE, window="month_to_date", rep="unknown")
        == 700
    )
    assert value(samples, Measure.WON_CYCLE_DEALS, window="month_to_date") is None

    state.fold_all([deal_created("D-9", "2026-11-30T10:00:00Z", rep="rep-2")])
    samples = list(state.samples(NOW))
    assert value(samples, Measure.WON_REVENUE, rep="unknown") is None
    assert (
        value(samples, Measure.WON_REVENUE, window="month_to_date", rep="rep-2") == 700
    )


def test_the_cycle_starts_at_the_linked_lead() -> None:
    samples = fold(
        lead_created("L-1", "2026-11-01T00:00:00Z", channel="event", campaign="C-7"),
        deal_created("D-1", "2026-11-11T00:00:00Z"),
        lead_converted("L-1", "2026-11-11T00:00:00Z", "D-1"),
        deal_won("D-1", "2026-12-01T00:00:00Z"),
    )
    month = {"window": "month_to_date"}
    assert value(samples, Measure.WON_CYCLE_SECONDS, **month) == 30 * DAY
    assert value(samples, Measure.NEW_WON_DURATION_SECONDS, **month) == 20 * DAY
    assert value(samples, Measure.LEADS_WON, **month, channel="event") == 1
    assert (
        value(samples, Measure.LEAD_CONVERSION_SECONDS, window="previous_month")
        == 10 * DAY
    )


def test_a_lead_named_by_its_deal_needs_no_conversion_event() -> None:
    samples = fold(
        lead_created("L-1", "2026-11-01T00:00:00Z"),
        deal_created("D-1", "2026-11-11T00:00:00Z", lead="L-1"),
        deal_won("D-1", "2026-12-01T00:00:00Z"),
    )
    assert value(samples, Measure.WON_CYCLE_SECONDS, window="month_to_date") == 30 * DAY
    assert value(samples, Measure.LEADS_WON, window="month_to_date") == 1
    assert value(samples, Measure.LEADS_CONVERTED, window="previous_month") is None


def test_a_lead_never_converted_counts_as_created_only() -> None:
    samples = fold(lead_created("L-1", "2026-12-01T00:00:00Z", campaign="C-3"))
    assert value(samples, Measure.LEADS_CREATED, window="month_to_date") == 1
    assert value(samples, Measure.LEADS_CONVERTED, window="month_to_date") is None
    assert value(samples, Measure.LEADS_WON, window="month_to_date") is None


def test_quotes_count_once_per_quote_in_the_period_first_sent() -> None:
    samples = fold(
        quote_sent("D-1", "2026-11-28T00:00:00Z", "Q-1"),
        quote_sent("D-1", "2026-12-02T00:00:00Z", "Q-1"),
        quote_sent("D-1", "2026-12-03T00:00:00Z", "Q-2"),
    )
    assert value(samples, Measure.QUOTES_SENT, window="previous_month") == 1
    assert value(samples, Measure.QUOTES_SENT, window="month_to_date") == 1


def test_demos_count_as_won_when_their_deal_is_won() -> None:
    samples = fold(
        deal_created("D-1", "2026-11-01T00:00:00Z"),
        activity("2026-11-05T00:00:00Z", rep="rep-3", kind="demo", deal="D-1"),
        activity("2026-11-06T00:00:00Z", rep="rep-3", kind="demo", deal="D-2"),
        deal_won("D-1", "2026-12-01T00:00:00Z"),
    )
    last_month = {"window": "previous_month", "rep": "rep-3"}
    assert value(samples, Measure.ACTIVITIES, **last_month, kind="demo") == 2
    assert value(samples, Measure.DEMOS_WON, **last_month) == 1


def test_activities_are_counted_once_by_event_id() -> None:
    call = activity("2026-12-15T08:00:00Z", outcome="qualified_lead", event_id="A-1")
    samples = fold(call, call)
    assert value(samples, Measure.ACTIVITIES, window="today", kind="call") == 1
    assert (
        value(samples, Measure.ACTIVITY_OUTCOMES, window="week_to_date", kind="call")
        == 1
    )


def test_mrr_movements_are_classified_per_account() -> None:
    samples = fold(
        subscription("started", "2026-10-01T00:00:00Z", "100"),
        subscription("started", "2026-10-15T00:00:00Z", "50", subscription_id="S-2"),
        subscription("changed", "2026-11-01T00:00:00Z", "80"),
        subscription("cancelled", "2026-11-10T00:00:00Z", "0", subscription_id="S-2"),
        subscription("cancelled", "2026-12-01T00:00:00Z", "0"),
        subscription("reactivated", "2026-12-10T00:00:00Z", "90"),
    )

    def movement(window: str, kind: str) -> Decimal | None:
        return value(samples, Measure.MRR_MOVEMENT, window=window, movement=kind)

    assert movement("year_to_date", "new") == 100
    assert movement("year_to_date", "expansion") == 50
    # Cancelling one of two subscriptions contracts the account.
    assert movement("previous_month", "contraction") == 20 + 50
    assert movement("month_to_date", "churned") == 80
    assert movement("month_to_date", "reactivated") == 90
    assert value(samples, Measure.ACCOUNTS_LOST, window="month_to_date") == 1
    assert value(samples, Measure.ACCOUNTS_GAINED, window="month_to_date") == 1
    assert value(samples, Measure.ACCOUNTS_NEW, window="month_to_date") is None
    assert value(samples, Measure.MRR, window="month_to_date", at="start") == 80
    assert value(samples, Measure.MRR, window="month_to_date", at="end") == 90
    at_start = value(
        samples, Measure.PAYING_ACCOUNTS, window="month_to_date", at="start"
    )
    assert at_start == 1


def test_distinct_paying_accounts_count_once_per_period() -> None:
    samples = fold(
        deal_created("D-1", "2026-10-01T00:00:00Z", account="A-1"),
        deal_created("D-2", "2026-10-01T00:00:00Z", account="A-1"),
        deal_created("D-3", "2026-10-01T00:00:00Z", account="A-2"),
        deal_won("D-1", "2026-11-03T00:00:00Z"),
        deal_won("D-2", "2026-12-03T00:00:00Z"),
        deal_won("D-3", "2026-12-04T00:00:00Z"),
    )
    assert value(samples, Measure.WON_ACCOUNTS, window="month_to_date") == 2
    assert value(samples, Measure.WON_ACCOUNTS, window="previous_month") == 1
    assert value(samples, Measure.WON_ACCOUNTS, window="quarter_to_date") == 2


def test_costs_go_to_their_campaign_or_team() -> None:
    samples = fold(
        cost("2026-12-01T00:00:00Z", "300.25", campaign="C-1"),
        cost("2026-12-02T00:00:00Z", "99.75", campaign="C-1"),
        cost("2026-12-02T00:00:00Z", "1000", category="sales", team="emea"),
    )
    month = {"window": "month_to_date"}
    assert value(samples, Measure.MARKETING_COST, **month, campaign="C-1") == 400
    assert value(samples, Measure.SALES_COST, **month, team="emea") == 1000


def test_amounts_convert_at_the_rate_of_the_event_time_to_the_cent() -> None:
    rates = ExchangeRates.of(
        "USD",
        {
            "EUR": [
                (datetime(2026, 1, 1, tzinfo=UTC), Decimal("1.10")),
                (datetime(2026, 12, 2, tzinfo=UTC), Decimal("1.0833")),
            ]
        },
    )
    reference = ReferenceData(rates=rates)
    samples = fold(
        deal_created("D-1", "2026-11-01T00:00:00Z", currency="EUR"),
        deal_won("D-1", "2026-12-01T12:00:00Z", amount="100.01", currency="EUR"),
        deal_created("D-2", "2026-11-01T00:00:00Z", currency="EUR"),
        deal_won("D-2", "2026-12-03T12:00:00Z", amount="100.01", currency="EUR"),
        reference=reference,
    )
    # 100.01 x 1.10 = 110.011 -> 110.01; 100.01 x 1.0833 = 108.340833 -> 108.34
    assert value(samples, Measure.WON_REVENUE, window="month_to_date") == Decimal(
        "218.35"
    )
    assert ("currency", "USD") in next(
        s.labels for s in samples if s.measure is Measure.WON_REVENUE
    )


def test_an_amount_without_exchange_rate_is_rejected_and_changes_nothing() -> None:
    state = KpiState(ReferenceData())
    rejected = state.fold_all(
        [deal_created("D-1", "2026-12-01T00:00:00Z", currency="JPY")]
    )
    assert len(rejected) == 1
    error = rejected[0][1]
    assert isinstance(error, InvalidEvent)
    assert error.reason is RejectReason.UNKNOWN_CURRENCY
    assert "JPY" in error.detail
    assert list(state.samples(NOW)) == []


def test_reps_carry_their_team_and_region_from_the_directory() -> None:
    reference = ReferenceData(reps={"rep-1": Rep("rep-1", "Ava", "na", "NA")})
    samples = fold(
        deal_created("D-1", "2026-12-01T00:00:00Z", rep="rep-1"),
        deal_created("D-2", "2026-12-01T00:00:00Z", rep="rep-2"),
        deal_won("D-1", "2026-12-02T00:00:00Z"),
        deal_won("D-2", "2026-12-02T00:00:00Z"),
        reference=reference,
    )
    assert value(samples, Measure.WON_DEALS, window="month_to_date", team="na") == 1
    assert (
        value(samples, Measure.WON_DEALS, window="month_to_date", team="unassigned")
        == 1
    )


def test_a_month_boundary_follows_the_configured_time_zone() -> None:
    late_evening = "2026-11-30T23:30:00Z"  # already December in Berlin
    events = (
        deal_created("D-1", "2026-11-01T00:00:00Z"),
        deal_won("D-1", late_evening),
    )
    in_utc = fold(*events)
    in_berlin = fold(
        *events, reference=ReferenceData(calendar=Calendar(timezone="Europe/Berlin"))
    )
    assert value(in_utc, Measure.WON_DEALS, window="previous_month") == 1
    assert value(in_berlin, Measure.WON_DEALS, window="month_to_date") == 1


@pytest.mark.parametrize("fiscal_start", [1, 4])
def test_quarters_follow_the_fiscal_year(fiscal_start: int) -> None:
    reference = ReferenceData(calendar=Calendar(fiscal_year_start_month=fiscal_start))
    samples = fold(
        deal_created("D-1", "2026-09-01T00:00:00Z"),
        deal_won("D-1", "2026-10-05T00:00:00Z"),
        reference=reference,
    )
    # With an April start, October to December is Q3 and holds the win; with a
    # January start, Q4 is October to December too. The fiscal year differs:
    # from April, it began in April 2026; from January, in January.
    assert value(samples, Measure.WON_DEALS, window="quarter_to_date") == 1
    assert value(samples, Measure.WON_DEALS, window="year_to_date") == 1


def test_rolling_windows_move_with_the_clock_without_new_events() -> None:
    state = KpiState(ReferenceData())
    state.fold_all(
        [
            deal_created("D-1", "2026-12-01T00:00:00Z"),
            deal_won("D-1", "2026-12-15T11:20:00Z", amount="250"),
            activity("2026-12-15T11:50:00Z", rep="rep-2", kind="call"),
            activity("2026-12-10T09:00:00Z", rep="rep-2", kind="call"),
            activity("2026-12-01T09:00:00Z", rep="rep-2", kind="call"),
        ]
    )
    at_noon = list(state.samples(NOW))
    assert value(at_noon, Measure.WON_REVENUE, window="last_hour") == 250
    assert value(at_noon, Measure.WON_DEALS, window="last_7_days") == 1
    assert value(at_noon, Measure.ACTIVITIES, window="last_hour", rep="rep-2") == 1
    assert value(at_noon, Measure.ACTIVITIES, window="last_7_days", rep="rep-2") == 2

    # Two hours later, with no event in between, the hour has emptied.
    later = list(state.samples(NOW + timedelta(hours=2)))
    assert value(later, Measure.WON_REVENUE, window="last_hour") is None
    assert value(later, Measure.ACTIVITIES, window="last_hour") is None
    assert value(later, Measure.WON_REVENUE, window="last_7_days") == 250

    # Eight days on, the week has emptied too; the calendar month has not.
    much_later = list(state.samples(NOW + timedelta(days=8)))
    assert value(much_later, Measure.WON_DEALS, window="last_7_days") is None
    assert value(much_later, Measure.WON_DEALS, window="month_to_date") == 1
