"""Calendar periods in the configured time zone, with a fiscal year.

A period is a day, an ISO week, a month, a fiscal quarter or a fiscal year of
the local calendar. A fiscal year is named by the calendar year in which it
ends: with a fiscal year starting in April, April 2026 to March 2027 is
FY2027; with a January start FY2026 is calendar 2026. Quarters count from the
fiscal start.

The folding code keys sums by a *bucket*, an integer that identifies the
period of a grain holding an instant (:meth:`Calendar.bucket`), because an
integer is much cheaper to compute and hash than a :class:`Period`:

- day: the proleptic Gregorian ordinal of the local date;
- week: the number of whole weeks from Monday 0001-01-01 to the ISO week's
  Monday;
- month: ``year * 12 + month - 1`` of the local date;
- quarter and year: the month number shifted so that a fiscal year starts on
  a multiple of 12, divided by 3 or by 12 (the year bucket is the FY number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kpis.errors import KpiError

_DAYS_PER_WEEK: Final = 7
_QUARTERS_PER_YEAR: Final = 4
_MONTHS_PER_QUARTER: Final = 3
_MONTHS_PER_YEAR: Final = 12


class PeriodError(KpiError):
    """A calendar setting, period label or instant the calendar cannot accept."""


class Grain(StrEnum):
    """The length of a calendar period."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class Period:
    """One calendar period: from ``start`` (included) to ``end`` (excluded).

    Attributes:
        grain: day, week, month, quarter or year.
        start: the first instant of the period, aware, in the calendar's zone.
        end: the first instant after the period, aware, in the calendar's zone.
        label: ``2026-12-03``, ``2026-W49``, ``2026-12``, ``FY2026-Q4`` or
            ``FY2026``.
    """

    grain: Grain
    start: datetime
    end: datetime
    label: str

    def contains(self, instant: datetime) -> bool:
        """Return whether the aware ``instant`` falls within the period."""
        # Timestamps, because aware datetimes sharing a tzinfo compare by wall
        # clock, which is wrong in the repeated hour of a DST change.
        moment = instant.timestamp()
        return self.start.timestamp() <= moment < self.end.timestamp()

    def elapsed_share(self, now: datetime) -> float:
        """Return the share, 0 to 1, of the period's real duration before ``now``.

        A day of a DST change lasts 23 or 25 hours; the share is of that real
        duration, not of 24 wall-clock hours.
        """
        start = self.start.timestamp()
        end = self.end.timestamp()
        moment = now.timestamp()
        if moment <= start:
            return 0.0
        if moment >= end:
            return 1.0
        return (moment - start) / (end - start)


# Module constants: the hot path reads them faster than the enum's attributes.
_DAY: Final = Grain.DAY
_WEEK: Final = Grain.WEEK
_MONTH: Final = Grain.MONTH
_QUARTER: Final = Grain.QUARTER


class Window(StrEnum):
    """A period that a dashboard shows, relative to now."""

    TODAY = "today"
    WEEK_TO_DATE = "week_to_date"
    MONTH_TO_DATE = "month_to_date"
    PREVIOUS_MONTH = "previous_month"
    SAME_MONTH_LAST_YEAR = "same_month_last_year"
    QUARTER_TO_DATE = "quarter_to_date"
    PREVIOUS_QUARTER = "previous_quarter"
    SAME_QUARTER_LAST_YEAR = "same_quarter_last_year"
    YEAR_TO_DATE = "year_to_date"
    PREVIOUS_YEAR = "previous_year"

    @property
    def grain(self) -> Grain:
        """Return the grain of the period the window stands for."""
        return _WINDOW_GRAINS[self]

    @property
    def to_date(self) -> bool:
        """Return whether the window is the current, unfinished period."""
        return self in _TO_DATE_WINDOWS


_WINDOW_GRAINS: Final[dict[Window, Grain]] = {
    Window.TODAY: Grain.DAY,
    Window.WEEK_TO_DATE: Grain.WEEK,
    Window.MONTH_TO_DATE: Grain.MONTH,
    Window.PREVIOUS_MONTH: Grain.MONTH,
    Window.SAME_MONTH_LAST_YEAR: Grain.MONTH,
    Window.QUARTER_TO_DATE: Grain.QUARTER,
    Window.PREVIOUS_QUARTER: Grain.QUARTER,
    Window.SAME_QUARTER_LAST_YEAR: Grain.QUARTER,
    Window.YEAR_TO_DATE: Grain.YEAR,
    Window.PREVIOUS_YEAR: Grain.YEAR,
}
_TO_DATE_WINDOWS: Final = frozenset(
    {
        Window.TODAY,
        Window.WEEK_TO_DATE,
        Window.MONTH_TO_DATE,
        Window.QUARTER_TO_DATE,
        Window.YEAR_TO_DATE,
    }
)

DAILY_WINDOWS: Final[tuple[Window, ...]] = (Window.TODAY, Window.WEEK_TO_DATE)
"""The windows of the daily grains, kept only for the measures marked daily."""

PERIOD_WINDOWS: Final[tuple[Window, ...]] = tuple(
    window for window in Window if window not in DAILY_WINDOWS
)
"""The month, quarter and year windows."""

_DAY_LABEL: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK_LABEL: Final = re.compile(r"(\d{4})-W(\d{2})")
_MONTH_LABEL: Final = re.compile(r"(\d{4})-(\d{2})")
_QUARTER_LABEL: Final = re.compile(r"FY(\d{4})-Q([1-4])")
_YEAR_LABEL: Final = re.compile(r"FY(\d{4})")


@dataclass(frozen=True)
class Calendar:
    """The local calendar: a time zone and the first month of the fiscal year.

    Attributes:
        timezone: an IANA zone name such as ``Europe/Berlin``.
        fiscal_year_start_month: 1 (January) to 12 (December).
    """

    timezone: str = "UTC"
    fiscal_year_start_month: int = 1
    _zone: tzinfo = field(init=False, repr=False, compare=False)
    _conversion_zone: tzinfo = field(init=False, repr=False, compare=False)
    _fiscal_shift: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the settings and cache the zone and the fiscal shift."""
        zone = _load_zone(self.timezone)
        object.__setattr__(self, "_zone", zone)
        # Converting to the fixed UTC offset is four times cheaper than to the
        # zoneinfo UTC, which looks up transitions that never happen.
        utc_names = ("UTC", "Etc/UTC")
        converter = UTC if self.timezone in utc_names else zone
        object.__setattr__(self, "_conversion_zone", converter)
        month = self.fiscal_year_start_month
        if (
            isinstance(month, bool)
            or not isinstance(month, int)
            or not 1 <= month <= 12
        ):
            raise PeriodError(
                f"fiscal_year_start_month: {month!r} is not a month number 1 to 12"
            )
        # Added to a month number, the shift makes each fiscal year start on a
        # multiple of 12 and end in the year that names it.
        shift = (_MONTHS_PER_YEAR + 1 - month) % _MONTHS_PER_YEAR
        object.__setattr__(self, "_fiscal_shift", shift)

    @property
    def zone(self) -> tzinfo:
        """Return the calendar's time zone object."""
        return self._zone

    def bucket(self, grain: Grain, instant: datetime) -> int:
        """Return the integer naming the period of ``grain`` that holds ``instant``.

        Args:
            grain: the period length.
            instant: an aware datetime, in any zone.
        """
        local = instant.astimezone(self._conversion_zone)
        if grain is _DAY:
            return local.toordinal()
        if grain is _WEEK:
            return (local.toordinal() - 1) // 7
        month = local.year * 12 + local.month - 1
        if grain is _MONTH:
            return month
        if grain is _QUARTER:
            return (month + self._fiscal_shift) // 3
        return (month + self._fiscal_shift) // 12

    def period_of_bucket(self, grain: Grain, bucket: int) -> Period:
        """Return the period that :meth:`bucket` names ``bucket``."""
        if grain is Grain.DAY:
            day = date.fromordinal(bucket)
            return self._period(grain, day, day + timedelta(days=1), str(day))
        if grain is Grain.WEEK:
            monday = date.fromordinal(bucket * _DAYS_PER_WEEK + 1)
            iso = monday.isocalendar()
            label = f"{iso.year}-W{iso.week:02d}"
            return self._period(grain, monday, monday + timedelta(days=7), label)
        if grain is Grain.MONTH:
            label = f"{bucket // 12:04d}-{bucket % 12 + 1:02d}"
            return self._months(grain, bucket, 1, label)
        if grain is Grain.QUARTER:
            fiscal_year, quarter = divmod(bucket, _QUARTERS_PER_YEAR)
            first_month = bucket * _MONTHS_PER_QUARTER - self._fiscal_shift
            label = f"FY{fiscal_year:04d}-Q{quarter + 1}"
            return self._months(grain, first_month, _MONTHS_PER_QUARTER, label)
        first_month = bucket * _MONTHS_PER_YEAR - self._fiscal_shift
        return self._months(grain, first_month, _MONTHS_PER_YEAR, f"FY{bucket:04d}")

    def period(self, grain: Grain, instant: datetime) -> Period:
        """Return the period of ``grain`` that holds the aware ``instant``."""
        return self.period_of_bucket(grain, self.bucket(grain, instant))

    def previous(self, period: Period) -> Period:
        """Return the period of the same grain just before ``period``."""
        return self.period_of_bucket(period.grain, self._bucket_of(period) - 1)

    def same_period_last_year(self, period: Period) -> Period:
        """Return the period a year before ``period``.

        A week maps to the ISO week with the same number in the previous ISO
        year, or to week 52 when that year has no week 53. February 29 maps to
        February 28.
        """
        bucket = self._bucket_of(period)
        if period.grain is Grain.MONTH:
            return self.period_of_bucket(period.grain, bucket - _MONTHS_PER_YEAR)
        if period.grain is Grain.QUARTER:
            return self.period_of_bucket(period.grain, bucket - _QUARTERS_PER_YEAR)
        if period.grain is Grain.YEAR:
            return self.period_of_bucket(period.grain, bucket - 1)
        local = period.start.astimezone(self._zone).date()
        if period.grain is Grain.DAY:
            leap_day = (local.month, local.day) == (2, 29)
            earlier = local.replace(
                year=local.year - 1, day=28 if leap_day else local.day
            )
            return self.period_of_bucket(Grain.DAY, earlier.toordinal())
        iso = local.isocalendar()
        monday = _iso_monday(iso.year - 1, iso.week)
        return self.period_of_bucket(Grain.WEEK, (monday.toordinal() - 1) // 7)

    def windows(self, now: datetime) -> dict[Window, Period]:
        """Return the period each window stands for at the aware ``now``."""
        month = self.period(Grain.MONTH, now)
        quarter = self.period(Grain.QUARTER, now)
        year = self.period(Grain.YEAR, now)
        return {
            Window.TODAY: self.period(Grain.DAY, now),
            Window.WEEK_TO_DATE: self.period(Grain.WEEK, now),
            Window.MONTH_TO_DATE: month,
            Window.PREVIOUS_MONTH: self.previous(month),
            Window.SAME_MONTH_LAST_YEAR: self.same_period_last_year(month),
            Window.QUARTER_TO_DATE: quarter,
            Window.PREVIOUS_QUARTER: self.previous(quarter),
            Window.SAME_QUARTER_LAST_YEAR: self.same_period_last_year(quarter),
            Window.YEAR_TO_DATE: year,
            Window.PREVIOUS_YEAR: self.previous(year),
        }

    def within(self, period: Period, grain: Grain) -> tuple[Period, ...]:
        """Return the periods of ``grain`` that make up ``period``, in order.

        ``grain`` must nest in the period's grain: days in any period, months
        in quarters and years, quarters in years. Weeks nest in no month.
        """
        first = self.bucket(grain, period.start)
        after = self.bucket(grain, period.end)
        return tuple(self.period_of_bucket(grain, b) for b in range(first, after))

    def period_of_label(self, label: str) -> Period:
        """Return the period named by ``label``, e.g. ``2026-12`` or ``FY2027-Q1``.

        Raises:
            PeriodError: ``label`` names no period.
        """
        try:
            grain, bucket = self._parse_label(label)
            period = self.period_of_bucket(grain, bucket)
        except (ValueError, OverflowError) as error:
            raise PeriodError(f"{label!r} is not a period label") from error
        if period.label != label:
            raise PeriodError(f"{label!r} is not a period label")
        return period

    def _parse_label(self, label: str) -> tuple[Grain, int]:
        """Return the grain and bucket that ``label`` names, unchecked."""
        if match := _DAY_LABEL.fullmatch(label):
            year, month, day = (int(part) for part in match.groups())
            return Grain.DAY, date(year, month, day).toordinal()
        if match := _WEEK_LABEL.fullmatch(label):
            monday = _iso_monday(int(match[1]), int(match[2]))
            return Grain.WEEK, (monday.toordinal() - 1) // _DAYS_PER_WEEK
        if match := _MONTH_LABEL.fullmatch(label):
            month = int(match[2])
            if not 1 <= month <= 12:
                raise ValueError(label)
            return Grain.MONTH, int(match[1]) * 12 + month - 1
        if match := _QUARTER_LABEL.fullmatch(label):
            return Grain.QUARTER, int(match[1]) * 4 + int(match[2]) - 1
        if match := _YEAR_LABEL.fullmatch(label):
            return Grain.YEAR, int(match[1])
        raise ValueError(label)

    def _bucket_of(self, period: Period) -> int:
        """Return the bucket of ``period`` (the bucket of its first instant)."""
        return self.bucket(period.grain, period.start)

    def _months(self, grain: Grain, first: int, count: int, label: str) -> Period:
        """Return the period of ``count`` months from month number ``first``."""
        after = first + count
        start = date(first // 12, first % 12 + 1, 1)
        end = date(after // 12, after % 12 + 1, 1)
        return self._period(grain, start, end, label)

    def _period(self, grain: Grain, first: date, after: date, label: str) -> Period:
        """Return the period from local date ``first`` to local date ``after``."""
        return Period(grain, self._midnight(first), self._midnight(after), label)

    def _midnight(self, day: date) -> datetime:
        """Return the first instant of the local date ``day``.

        Where midnight does not exist (a DST change at midnight), the round
        trip through UTC moves it to the first wall-clock time that does.
        """
        wall = datetime(day.year, day.month, day.day, tzinfo=self._zone)
        return wall.astimezone(UTC).astimezone(self._zone)


def _load_zone(name: str) -> tzinfo:
    """Return the zone named ``name`` or raise a PeriodError naming it."""
    if not isinstance(name, str) or not name:
        raise PeriodError(f"timezone: {name!r} is not an IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PeriodError(
            f"timezone: {name!r} is not an IANA time zone name "
            "(e.g. 'UTC' or 'Europe/Berlin')"
        ) from error


def _iso_monday(iso_year: int, week: int) -> date:
    """Return the Monday of ISO ``week`` of ``iso_year``, or of week 52 if none."""
    try:
        return date.fromisocalendar(iso_year, week, 1)
    except ValueError:
        if week != 53:
            raise
        return date.fromisocalendar(iso_year, 52, 1)
