"""Conversion of amounts to the reporting currency at the rate of their time.

A rate is in units of the reporting currency for one unit of the currency,
and is in effect from its instant until the next rate of the same currency.
Before the first known instant the earliest rate applies: a deal dated before
rates were recorded is converted, rather than rejected, at the oldest rate
anyone set. A currency with no rate at all is never converted 1:1; it raises
:class:`UnknownCurrency`.

Each converted amount is rounded half-even to the cent, so that a sum of
converted deals matches what finance sees deal by deal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from itertools import pairwise
from types import MappingProxyType
from typing import Final

from kpis.currencies import ISO_4217
from kpis.errors import KpiError

CENT: Final = Decimal("0.01")
_ONE: Final = Decimal(1)


class MoneyError(KpiError):
    """Exchange rates or an amount the money conversion cannot accept."""


class UnknownCurrency(MoneyError):
    """No exchange rate is known for a currency at a time."""


RateHistory = tuple[tuple[datetime, Decimal], ...]


@dataclass(frozen=True)
class _Schedule:
    """The rates of one currency laid out for a fast lookup."""

    instants: tuple[float, ...]
    rates: tuple[Decimal, ...]
    only_rate: Decimal | None

    def at(self, moment: float) -> Decimal:
        """Return the rate in effect at the POSIX time ``moment``."""
        if self.only_rate is not None:
            return self.only_rate
        index = bisect_right(self.instants, moment) - 1
        return self.rates[index if index > 0 else 0]


@dataclass(frozen=True)
class ExchangeRates:
    """The rates to the reporting currency of each currency, over time.

    Build it with :meth:`of`, which checks and sorts the rates.

    Attributes:
        reporting_currency: the ISO 4217 code every amount is converted to.
        rates: for each currency, its rates sorted by the instant from which
            each is in effect.
    """

    reporting_currency: str = "USD"
    rates: Mapping[str, RateHistory] = field(
        default_factory=lambda: MappingProxyType({})
    )
    _schedules: dict[str, _Schedule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the rates and lay them out for lookups."""
        _check_code("reporting_currency", self.reporting_currency)
        schedules: dict[str, _Schedule] = {}
        for currency, history in self.rates.items():
            _check_code(f"rates[{currency!r}]", currency)
            _check_history(currency, history)
            if currency == self.reporting_currency:
                raise MoneyError(
                    f"rates[{currency!r}]: the reporting currency has the rate 1"
                    " and takes no other"
                )
            schedules[currency] = _schedule(currency, history)
        object.__setattr__(self, "_schedules", schedules)

    @classmethod
    def of(
        cls,
        reporting_currency: str,
        rates: Mapping[str, Iterable[tuple[datetime, Decimal]]],
    ) -> ExchangeRates:
        """Return the checked rates, each currency's sorted by time.

        Args:
            reporting_currency: the ISO 4217 code amounts are converted to.
            rates: for each ISO 4217 code, ``(from, rate)`` pairs: aware
                instants and positive rates, in any order.

        Raises:
            MoneyError: a code is not ISO 4217, a time is naive or repeated,
                or a rate is not positive.
        """
        histories: dict[str, RateHistory] = {}
        for currency, history in rates.items():
            pairs = tuple(history)
            _check_history(currency, pairs)
            histories[currency] = tuple(sorted(pairs, key=lambda pair: pair[0]))
        return cls(reporting_currency, MappingProxyType(histories))

    def rate(self, currency: str, at: datetime) -> Decimal:
        """Return the rate of ``currency`` in effect at the aware ``at``.

        The reporting currency's rate is 1; before a currency's first known
        rate, its earliest rate applies.

        Raises:
            UnknownCurrency: no rate is known for ``currency``.
        """
        if currency == self.reporting_currency:
            return _ONE
        schedule = self._schedules.get(currency)
        if schedule is None:
            raise self._unknown(currency, at)
        return schedule.at(at.timestamp())

    def to_reporting(self, amount: Decimal, currency: str, at: datetime) -> Decimal:
        """Return ``amount`` of ``currency`` at ``at`` in the reporting currency.

        The result is rounded half-even to the cent.

        Raises:
            UnknownCurrency: no rate is known for ``currency``.
            MoneyError: the amount is too large to round to the cent.
        """
        if currency == self.reporting_currency:
            converted = amount
        else:
            schedule = self._schedules.get(currency)
            if schedule is None:
                raise self._unknown(currency, at)
            rate = schedule.only_rate
            converted = amount * (
                rate if rate is not None else schedule.at(at.timestamp())
            )
        try:
            return converted.quantize(CENT, rounding=ROUND_HALF_EVEN)
        except InvalidOperation as error:
            raise MoneyError(
                f"{amount} {currency} is too large to convert to the cent"
            ) from error

    def _unknown(self, currency: str, at: datetime) -> UnknownCurrency:
        """Return the error for a currency that has no rate."""
        return UnknownCurrency(
            f"no exchange rate from {currency} to {self.reporting_currency}"
            f" is known at {at.isoformat()}"
        )


def _check_code(where: str, code: object) -> None:
    """Raise a MoneyError unless ``code`` is an active ISO 4217 code."""
    if not isinstance(code, str) or code not in ISO_4217:
        raise MoneyError(f"{where}: {code!r} is not an active ISO 4217 currency code")


def _check_history(currency: str, history: RateHistory) -> None:
    """Raise a MoneyError unless ``history`` has distinct aware times, rates > 0."""
    if not history:
        raise MoneyError(f"rates[{currency!r}]: no rate given")
    seen: set[datetime] = set()
    for index, pair in enumerate(history):
        where = f"rates[{currency!r}][{index}]"
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise MoneyError(f"{where}: {pair!r} is not a (from, rate) pair")
        instant, rate = pair
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise MoneyError(f"{where}: {instant!r} is not an aware datetime")
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
            raise MoneyError(f"{where}: {rate!r} is not a positive Decimal rate")
        if instant in seen:
            raise MoneyError(f"{where}: a second rate from {instant.isoformat()}")
        seen.add(instant)


def _schedule(currency: str, history: RateHistory) -> _Schedule:
    """Return the lookup layout of a checked history, which must be sorted."""
    instants = tuple(instant.timestamp() for instant, _ in history)
    if any(later < earlier for earlier, later in pairwise(instants)):
        raise MoneyError(f"rates[{currency!r}]: the rates are not sorted by time")
    rates = tuple(rate for _, rate in history)
    return _Schedule(instants, rates, rates[0] if len(rates) == 1 else None)
