"""Exchange rates: lookups over time, unknown currencies, cent rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kpis.errors import KpiError
from kpis.money import ExchangeRates, MoneyError, UnknownCurrency

JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
JULY = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
def rates() -> ExchangeRates:
    """Return EUR changing in July (given out of order) and GBP with one rate."""
    return ExchangeRates.of(
        "USD",
        {
            "EUR": [(JULY, Decimal("1.10")), (JANUARY, Decimal("1.08"))],
            "GBP": [(JANUARY, Decimal("1.25"))],
        },
    )


def test_rates_are_sorted_by_time(rates: ExchangeRates) -> None:
    assert rates.rates["EUR"] == (
        (JANUARY, Decimal("1.08")),
        (JULY, Decimal("1.10")),
    )


def test_rate_before_at_and_after_a_change(rates: ExchangeRates) -> None:
    just_before = JULY - timedelta(microseconds=1)

    assert rates.rate("EUR", JANUARY - timedelta(days=400)) == Decimal("1.08")
    assert rates.rate("EUR", JANUARY) == Decimal("1.08")
    assert rates.rate("EUR", just_before) == Decimal("1.08")
    assert rates.rate("EUR", JULY) == Decimal("1.10")
    assert rates.rate("EUR", JULY + timedelta(days=900)) == Decimal("1.10")


def test_a_change_is_compared_as_an_instant_in_any_zone(rates: ExchangeRates) -> None:
    # 2026-07-01T01:00+02:00 is 2026-06-30T23:00Z, still before the change.
    berlin_summer = timezone(timedelta(hours=2))

    assert rates.rate("EUR", datetime(2026, 7, 1, 1, tzinfo=berlin_summer)) == Decimal(
        "1.08"
    )


def test_the_reporting_currency_has_the_rate_1(rates: ExchangeRates) -> None:
    assert rates.rate("USD", JANUARY) == Decimal(1)
    assert rates.to_reporting(Decimal("10.005"), "USD", JANUARY) == Decimal("10.00")


def test_to_reporting_uses_the_rate_of_the_time(rates: ExchangeRates) -> None:
    assert rates.to_reporting(Decimal("10000"), "EUR", JANUARY) == Decimal("10800.00")
    assert rates.to_reporting(Decimal("10000"), "EUR", JULY) == Decimal("11000.00")
    assert rates.to_reporting(Decimal("8"), "GBP", JULY) == Decimal("10.00")


def test_to_reporting_rounds_half_even_to_the_cent() -> None:
    rates = ExchangeRates.of("USD", {"EUR": [(JANUARY, Decimal("1.5"))]})

    # 0.01 x 1.5 = 0.015 -> 0.02 and 0.03 x 1.5 = 0.045 -> 0.04: to the even cent.
    assert rates.to_reporting(Decimal("0.01"), "EUR", JANUARY) == Decimal("0.02")
    assert rates.to_reporting(Decimal("0.03"), "EUR", JANUARY) == Decimal("0.04")
    assert rates.to_reporting(Decimal("1.001"), "EUR", JANUARY) == Decimal("1.50")
    assert str(rates.to_reporting(Decimal("7"), "EUR", JANUARY)) == "10.50"


def test_an_unknown_currency_names_itself_and_the_time(rates: ExchangeRates) -> None:
    with pytest.raises(UnknownCurrency) as raised:
        rates.to_reporting(Decimal("1"), "JPY", JULY)

    assert str(raised.value) == (
        "no exchange rate from JPY to USD is known at 2026-07-01T00:00:00+00:00"
    )
    assert isinstance(raised.value, KpiError)
    with pytest.raises(UnknownCurrency, match="JPY"):
        rates.rate("JPY", JULY)


def test_the_default_knows_only_usd() -> None:
    rates = ExchangeRates.of("USD", {})

    assert rates.to_reporting(Decimal("12.345"), "USD", JULY) == Decimal("12.34")
    assert ExchangeRates() == rates
    with pytest.raises(UnknownCurrency, match="EUR"):
        rates.to_reporting(Decimal("1"), "EUR", JULY)


def test_a_non_usd_reporting_currency() -> None:
    rates = ExchangeRates.of("EUR", {"USD": [(JANUARY, Decimal("0.9"))]})

    assert rates.to_reporting(Decimal("100"), "USD", JULY) == Decimal("90.00")
    assert rates.to_reporting(Decimal("100"), "EUR", JULY) == Decimal("100.00")


@pytest.mark.parametrize(
    ("reporting", "given", "message"),
    [
        ("US", {}, r"reporting_currency: 'US' is not an active ISO 4217"),
        ("USD", {"XXX": [(JANUARY, Decimal(1))]}, r"rates\['XXX'\]: 'XXX' is not"),
        ("USD", {"EUR": []}, r"rates\['EUR'\]: no rate given"),
        (
            "USD",
            {"EUR": [(JANUARY, Decimal(0))]},
            r"rates\['EUR'\]\[0\]: Decimal\('0'\) is not a positive",
        ),
        (
            "USD",
            {"EUR": [(JANUARY, 1.08)]},
            r"rates\['EUR'\]\[0\]: 1.08 is not a positive Decimal",
        ),
        (
            "USD",
            {"EUR": [(datetime(2026, 1, 1), Decimal(1))]},
            r"rates\['EUR'\]\[0\]: .* is not an aware datetime",
        ),
        (
            "USD",
            {"EUR": [(JANUARY, Decimal(1)), (JANUARY, Decimal(2))]},
            r"rates\['EUR'\]\[1\]: a second rate from 2026-01-01",
        ),
        ("USD", {"USD": [(JANUARY, Decimal(1))]}, r"rates\['USD'\]: the reporting"),
    ],
)
def test_bad_rates_are_named(
    reporting: str, given: dict[str, list[tuple[datetime, Decimal]]], message: str
) -> None:
    with pytest.raises(MoneyError, match=message):
        ExchangeRates.of(reporting, given)


def test_unsorted_rates_built_directly_are_rejected() -> None:
    history = ((JULY, Decimal("1.1")), (JANUARY, Decimal("1.08")))

    with pytest.raises(MoneyError, match=r"rates\['EUR'\]: the rates are not sorted"):
        ExchangeRates("USD", {"EUR": history})


def test_an_amount_too_large_for_cents_is_an_error(rates: ExchangeRates) -> None:
    with pytest.raises(MoneyError, match="too large"):
        rates.to_reporting(Decimal("1e40"), "EUR", JULY)
