"""Calendar periods: zones, DST, fiscal years, ISO weeks, buckets, windows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.periods import (
    DAILY_WINDOWS,
    PERIOD_WINDOWS,
    Calendar,
    Grain,
    PeriodError,
    Window,
)

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Asia/Kolkata",
    "Asia/Tehran",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Chatham",
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_an_instant_falls_in_the_local_month_of_the_calendar_zone() -> None:
    instant = utc(2026, 3, 31, 23, 30)

    berlin = Calendar("Europe/Berlin").period(Grain.MONTH, instant)
    london = Calendar().period(Grain.MONTH, instant)

    assert berlin.label == "2026-04"
    assert berlin.start == datetime(2026, 4, 1, tzinfo=BERLIN)
    assert berlin.start == utc(2026, 3, 31, 22)
    assert berlin.contains(instant)
    assert london.label == "2026-03"
    assert london.end == utc(2026, 4, 1)
    assert london.contains(instant)


def test_a_spring_dst_day_lasts_23_hours_and_its_share_is_of_real_time() -> None:
    calendar = Calendar("Europe/Berlin")
    day = calendar.period(Grain.DAY, utc(2026, 3, 29, 12))

    assert day.label == "2026-03-29"
    assert day.end.timestamp() - day.start.timestamp() == 23 * 3600
    # 06:00 local summer time is 04:00 UTC, 5 real hours after midnight (23:00 UTC).
    assert day.elapsed_share(utc(2026, 3, 29, 4)) == pytest.approx(5 / 23)


def test_an_autumn_dst_day_lasts_25_hours() -> None:
    day = Calendar("Europe/Berlin").period(Grain.DAY, utc(2026, 10, 25, 12))

    assert day.end.timestamp() - day.start.timestamp() == 25 * 3600
    assert day.elapsed_share(utc(2026, 10, 25, 2)) == pytest.approx(4 / 25)


def test_elapsed_share_is_0_before_and_1_after_the_period() -> None:
    month = Calendar().period(Grain.MONTH, utc(2026, 12, 3))

    assert month.elapsed_share(utc(2026, 11, 30)) == 0.0
    assert month.elapsed_share(utc(2026, 12, 1)) == 0.0
    assert month.elapsed_share(utc(2026, 12, 16, 12)) == pytest.approx(0.5)
    assert month.elapsed_share(utc(2027, 1, 1)) == 1.0


def test_a_fiscal_year_from_april_is_named_by_the_year_it_ends() -> None:
    calendar = Calendar(fiscal_year_start_month=4)

    first = calendar.period(Grain.QUARTER, utc(2026, 5, 10))
    last = calendar.period(Grain.QUARTER, utc(2027, 3, 31, 12))

    assert first.label == "FY2027-Q1"
    assert (first.start, first.end) == (utc(2026, 4, 1), utc(2026, 7, 1))
    assert last.label == "FY2027-Q4"
    assert calendar.period(Grain.YEAR, utc(2027, 3, 31)).label == "FY2027"
    assert calendar.period(Grain.YEAR, utc(2027, 4, 1)).label == "FY2028"
    assert calendar.previous(first).label == "FY2026-Q4"
    assert calendar.previous(first).start == utc(2026, 1, 1)
    assert calendar.same_period_last_year(first).label == "FY2026-Q1"
    assert calendar.same_period_last_year(first).start == utc(2025, 4, 1)


def test_a_january_fiscal_year_is_the_calendar_year() -> None:
    calendar = Calendar()
    year = calendar.period(Grain.YEAR, utc(2026, 7, 1))

    assert year.label == "FY2026"
    assert (year.start, year.end) == (utc(2026, 1, 1), utc(2027, 1, 1))
    assert calendar.period(Grain.QUARTER, utc(2026, 12, 3)).label == "FY2026-Q4"


def test_a_fiscal_year_from_december() -> None:
    calendar = Calendar(fiscal_year_start_month=12)

    assert calendar.period(Grain.QUARTER, utc(2026, 12, 1)).label == "FY2027-Q1"
    assert calendar.period(Grain.QUARTER, utc(2026, 11, 30)).label == "FY2026-Q4"


def test_iso_weeks_across_a_year_end() -> None:
    calendar = Calendar()

    week_53 = calendar.period(Grain.WEEK, utc(2026, 12, 31))
    week_1 = calendar.period(Grain.WEEK, utc(2027, 1, 4))

    assert week_53.label == "2026-W53"
    assert (week_53.start, week_53.end) == (utc(2026, 12, 28), utc(2027, 1, 4))
    assert week_1.label == "2027-W01"
    assert calendar.previous(week_1) == week_53
    assert calendar.period(Grain.WEEK, utc(2027, 1, 3)) == week_53


def test_same_week_last_year_is_week_52_when_there_is_no_week_53() -> None:
    calendar = Calendar()
    week_53 = calendar.period(Grain.WEEK, utc(2026, 12, 31))
    week_10 = calendar.period(Grain.WEEK, utc(2026, 3, 4))

    assert calendar.same_period_last_year(week_53).label == "2025-W52"
    assert calendar.same_period_last_year(week_10).label == "2025-W10"


def test_same_day_last_year_of_a_leap_day_is_february_28() -> None:
    calendar = Calendar()
    leap_day = calendar.period(Grain.DAY, utc(2028, 2, 29, 9))

    assert calendar.same_period_last_year(leap_day).label == "2027-02-28"
    assert calendar.previous(leap_day).label == "2028-02-28"


def test_previous_month_crosses_the_year() -> None:
    calendar = Calendar("Europe/Berlin")
    january = calendar.period(Grain.MONTH, utc(2027, 1, 15))

    assert calendar.previous(january).label == "2026-12"
    assert calendar.same_period_last_year(january).label == "2026-01"


def test_windows_at_a_given_now() -> None:
    calendar = Calendar("Europe/Berlin", fiscal_year_start_month=4)
    now = utc(2026, 12, 3, 10)

    labels = {window: period.label for window, period in calendar.windows(now).items()}

    assert list(labels) == list(Window)
    assert labels == {
        Window.TODAY: "2026-12-03",
        Window.WEEK_TO_DATE: "2026-W49",
        Window.MONTH_TO_DATE: "2026-12",
        Window.PREVIOUS_MONTH: "2026-11",
        Window.SAME_MONTH_LAST_YEAR: "2025-12",
        Window.QUARTER_TO_DATE: "FY2027-Q3",
        Window.PREVIOUS_QUARTER: "FY2027-Q2",
        Window.SAME_QUARTER_LAST_YEAR: "FY2026-Q3",
        Window.YEAR_TO_DATE: "FY2027",
        Window.PREVIOUS_YEAR: "FY2026",
    }


def test_month_to_date_pacing_share_at_now() -> None:
    month = Calendar().windows(utc(2026, 12, 11))[Window.MONTH_TO_DATE]

    assert month.elapsed_share(utc(2026, 12, 11)) == pytest.approx(10 / 31)


def test_window_grains_and_to_date() -> None:
    grains = [window.grain for window in Window]
    to_date = [window for window in Window if window.to_date]

    assert grains == [
        Grain.DAY,
        Grain.WEEK,
        Grain.MONTH,
        Grain.MONTH,
        Grain.MONTH,
        Grain.QUARTER,
        Grain.QUARTER,
        Grain.QUARTER,
        Grain.YEAR,
        Grain.YEAR,
    ]
    assert to_date == [
        Window.TODAY,
        Window.WEEK_TO_DATE,
        Window.MONTH_TO_DATE,
        Window.QUARTER_TO_DATE,
        Window.YEAR_TO_DATE,
    ]
    assert DAILY_WINDOWS == (Window.TODAY, Window.WEEK_TO_DATE)
    assert len(PERIOD_WINDOWS) == 8
    assert set(DAILY_WINDOWS) | set(PERIOD_WINDOWS) == set(Window)


def test_buckets_are_cheap_integers_named_as_documented() -> None:
    calendar = Calendar("Europe/Berlin", fiscal_year_start_month=4)
    instant = utc(2026, 3, 31, 23, 30)

    assert calendar.bucket(Grain.MONTH, instant) == 2026 * 12 + 3
    assert calendar.bucket(Grain.DAY, instant) == datetime(2026, 4, 1).toordinal()
    assert calendar.bucket(Grain.YEAR, instant) == 2027
    assert calendar.bucket(Grain.QUARTER, instant) == 2027 * 4
    assert calendar.period_of_bucket(Grain.QUARTER, 2027 * 4 + 3).label == "FY2027-Q4"


@given(
    zone=st.sampled_from(ZONES),
    fiscal_start=st.integers(1, 12),
    grain=st.sampled_from(Grain),
    local=st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)),
)
def test_the_period_of_an_instants_bucket_contains_it(
    zone: str, fiscal_start: int, grain: Grain, local: datetime
) -> None:
    calendar = Calendar(zone, fiscal_start)
    instant = local.replace(tzinfo=UTC)

    period = calendar.period_of_bucket(grain, calendar.bucket(grain, instant))

    assert period.contains(instant)
    assert calendar.period_of_label(period.label) == period
    assert calendar.bucket(grain, period.start) == calendar.bucket(grain, instant)
    assert calendar.bucket(grain, period.end) == calendar.bucket(grain, instant) + 1


@given(
    zone=st.sampled_from(ZONES),
    grain=st.sampled_from(Grain),
    local=st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)),
)
def test_previous_period_ends_where_the_period_starts(
    zone: str, grain: Grain, local: datetime
) -> None:
    calendar = Calendar(zone)
    period = calendar.period(grain, local.replace(tzinfo=UTC))

    assert calendar.previous(period).end == period.start


def test_months_within_a_fiscal_year() -> None:
    calendar = Calendar(fiscal_year_start_month=4)
    year = calendar.period_of_label("FY2027")

    months = [month.label for month in calendar.within(year, Grain.MONTH)]
    quarters = [q.label for q in calendar.within(year, Grain.QUARTER)]

    assert months[0] == "2026-04"
    assert months[-1] == "2027-03"
    assert len(months) == 12
    assert quarters == ["FY2027-Q1", "FY2027-Q2", "FY2027-Q3", "FY2027-Q4"]


@pytest.mark.parametrize(
    ("label", "grain", "start"),
    [
        ("2026-12-03", Grain.DAY, utc(2026, 12, 3)),
        ("2026-W49", Grain.WEEK, utc(2026, 11, 30)),
        ("2026-12", Grain.MONTH, utc(2026, 12, 1)),
        ("FY2026-Q4", Grain.QUARTER, utc(2026, 10, 1)),
        ("FY2026", Grain.YEAR, utc(2026, 1, 1)),
    ],
)
def test_period_of_label(label: str, grain: Grain, start: datetime) -> None:
    period = Calendar().period_of_label(label)

    assert (period.grain, period.start, period.label) == (grain, start, label)


@pytest.mark.parametrize(
    "label", ["2026-13", "2026-02-30", "2027-W53", "FY2026-Q5", "2026", "", "fy2026"]
)
def test_period_of_label_rejects_what_names_no_period(label: str) -> None:
    with pytest.raises(PeriodError, match=f"'{label}' is not a period label"):
        Calendar().period_of_label(label)


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(PeriodError, match="timezone: 'Mars/Olympus'"):
        Calendar("Mars/Olympus")


@pytest.mark.parametrize("month", [0, 13, True, "4"])
def test_a_fiscal_start_outside_1_to_12_is_named(month: object) -> None:
    with pytest.raises(PeriodError, match=f"fiscal_year_start_month: {month!r}"):
        Calendar("UTC", month)  # type: ignore[arg-type]


def test_an_instant_in_another_zone_is_converted() -> None:
    new_york = ZoneInfo("America/New_York")
    instant = datetime(2026, 12, 31, 20, tzinfo=new_york)

    assert Calendar().period(Grain.YEAR, instant).label == "FY2027"
    assert Calendar("America/New_York").period(Grain.YEAR, instant).label == "FY2026"
    assert Calendar().period(Grain.DAY, instant).end == utc(2027, 1, 2)
