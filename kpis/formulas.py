"""The KPI formulas: ratios, growth, lifetime value and the KPIs of won deals.

Each KPI is computed here exactly as the recording rules compute it from the
exposition: a ratio or a combination of sums, and a ratio is always taken of
sums (a team's margin from the team's revenue and cost, never an average of
its reps' margins). A KPI whose base is zero or unknown has no value: None.

Durations are in days; shares and ratios are 0 to 1 (growth and attainment may
exceed 1). :mod:`kpis.report` applies these formulas to a state's samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

_ZERO: Final = Decimal(0)
_SECONDS_PER_DAY: Final = Decimal(86400)


def ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """Return ``numerator / denominator``; None when either is None or the base 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def growth(current: Decimal, base: Decimal) -> Decimal | None:
    """Return ``(current - base) / base``; None when the base is zero."""
    return ratio(current - base, base)


def days(seconds: Decimal, count: Decimal) -> Decimal | None:
    """Return the average of summed ``seconds`` over ``count``, in days."""
    average = ratio(seconds, count)
    return None if average is None else average / _SECONDS_PER_DAY


def lifetime_value(
    arpa: Decimal | None,
    gross_margin: Decimal,
    monthly_churn: Decimal | None,
    cap_months: int,
) -> Decimal | None:
    """Return ARPA x gross margin / monthly churn, capped at ``cap_months``.

    With zero churn the lifetime is ``cap_months``; a churn so low that the
    lifetime would exceed the cap is capped too.
    """
    if arpa is None or monthly_churn is None:
        return None
    margin = arpa * gross_margin
    cap = margin * cap_months
    if monthly_churn == 0:
        return cap
    return min(margin / monthly_churn, cap)


@dataclass(frozen=True)
class Sales:
    """Won deals of one slice (the company, a rep, a product, ...).

    Attributes:
        revenue: gross bookings, the revenue of won deals.
        cost: the total cost of those deals; None where cost is not kept
            (by channel).
        won_deals: how many.
        net_bookings: revenue minus cost.
        profit_margin: (revenue - cost) / revenue.
        average_deal_value: revenue / won deals.
        average_cost_per_deal: cost / won deals.
        share_of_revenue: the slice's revenue / the company's.
    """

    revenue: Decimal
    cost: Decimal | None
    won_deals: Decimal
    net_bookings: Decimal | None
    profit_margin: Decimal | None
    average_deal_value: Decimal | None
    average_cost_per_deal: Decimal | None
    share_of_revenue: Decimal | None


def sales(
    revenue: Decimal,
    cost: Decimal | None,
    won_deals: Decimal,
    company_revenue: Decimal,
) -> Sales:
    """Return the KPIs of won deals from their sums (``cost`` None: not kept)."""
    net = None if cost is None else revenue - cost
    return Sales(
        revenue=revenue,
        cost=cost,
        won_deals=won_deals,
        net_bookings=net,
        profit_margin=ratio(net, revenue),
        average_deal_value=ratio(revenue, won_deals),
        average_cost_per_deal=ratio(cost, won_deals),
        share_of_revenue=ratio(revenue, company_revenue),
    )


@dataclass(frozen=True)
class Goal:
    """Revenue against a target, with pacing and the forecast.

    Attributes:
        target: the target of the window's period, if set.
        attainment: revenue / target.
        projected_revenue: revenue / the elapsed share of the period.
        projected_attainment: projected revenue / target.
        forecast: revenue + weighted pipeline expected to close in the period.
        forecast_attainment: forecast / target.
    """

    target: Decimal | None
    attainment: Decimal | None
    projected_revenue: Decimal | None
    projected_attainment: Decimal | None
    forecast: Decimal
    forecast_attainment: Decimal | None


def goal(
    revenue: Decimal, closing: Decimal, target: Decimal | None, elapsed: Decimal
) -> Goal:
    """Return attainment, pacing and forecast of ``revenue`` against ``target``."""
    projected = ratio(revenue, elapsed)
    forecast = revenue + closing
    return Goal(
        target=target,
        attainment=ratio(revenue, target),
        projected_revenue=projected,
        projected_attainment=ratio(projected, target),
        forecast=forecast,
        forecast_attainment=ratio(forecast, target),
    )


def net_new_mrr(movements: Mapping[str, Decimal]) -> Decimal:
    """Return new + expansion + reactivated - contraction - churned MRR."""
    gained = sum(
        (movements.get(m, _ZERO) for m in ("new", "expansion", "reactivated")), _ZERO
    )
    lost = movements.get("contraction", _ZERO) + movements.get("churned", _ZERO)
    return gained - lost
