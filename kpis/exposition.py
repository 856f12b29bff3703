"""The metric catalogue and the Prometheus text exposition of the domain's sums.

Every measure of :mod:`kpis.measures` is one gauge family named
``salespulse_`` + the measure's name: the windows restate their sums, so none
of them is a counter. Beside them go the reference series that the recording
rules and the dashboards join with: targets, the rep directory, each window's
bounds and elapsed share, gross margins and the LTV settings.

The output is deterministic (families sorted by name, samples by labels) and
exact (decimals in plain notation, never an exponent), so that two processes
holding the same sums write the same bytes. The company-wide gross margin is
the sample with ``product="all"``; a product's own margin, when set, has its
product id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from kpis.ledger import LabelPairs, Sample
from kpis.measures import Kind, Measure, Unit
from kpis.periods import PERIOD_WINDOWS, Period, Window
from kpis.reference import ReferenceData

PREFIX: Final = "salespulse_"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
ALL_PRODUCTS: Final = "all"
"""The ``product`` label value of the company-wide gross margin."""

TARGET_AMOUNT: Final = PREFIX + "target_amount"
REP_INFO: Final = PREFIX + "rep_info"
CAMPAIGN_INFO: Final = PREFIX + "campaign_info"
WINDOW_START: Final = PREFIX + "window_start_timestamp_seconds"
WINDOW_END: Final = PREFIX + "window_end_timestamp_seconds"
WINDOW_ELAPSED: Final = PREFIX + "window_elapsed_ratio"
GROSS_MARGIN: Final = PREFIX + "gross_margin_ratio"
LTV_CAP: Final = PREFIX + "ltv_cap_months"
CHURN_LOOKBACK: Final = PREFIX + "churn_lookback_months"


@dataclass(frozen=True)
class MetricSpec:
    """One metric family of the exposition.

    Attributes:
        name: the full metric name.
        type: the Prometheus type; every family here is a ``gauge``.
        help: the HELP text.
        labels: the label names, in the order they are written.
    """

    name: str
    help: str
    labels: tuple[str, ...]
    type: str = "gauge"


@dataclass(frozen=True)
class Series:
    """One sample of a family: its full label set and its value."""

    name: str
    labels: LabelPairs
    value: Decimal


def measure_metric(measure: Measure) -> MetricSpec:
    """Return the family that carries ``measure``."""
    spec = measure.spec
    labels: list[str] = []
    if spec.kind is not Kind.LEVEL:
        labels.append("window")
    if spec.kind is Kind.BALANCE:
        labels.append("at")
    labels.extend(spec.labels)
    if "rep" in spec.labels:
        labels.extend(("team", "region"))
    if spec.unit is Unit.MONEY:
        labels.append("currency")
    return MetricSpec(PREFIX + spec.name, spec.help, tuple(labels))


REFERENCE_METRICS: Final[tuple[MetricSpec, ...]] = (
    MetricSpec(
        TARGET_AMOUNT,
        "Target (quota) of the company, a team or a rep for the period of the window.",
        ("window", "scope", "team", "rep", "currency"),
    ),
    MetricSpec(
        REP_INFO,
        "The rep directory: a rep's name, team and region (always 1).",
        ("rep", "name", "team", "region"),
    ),
    MetricSpec(
        CAMPAIGN_INFO,
        "The channel of each marketing campaign (always 1).",
        ("campaign", "channel"),
    ),
    MetricSpec(
        WINDOW_START,
        "First instant of the period a window stands for, in Unix seconds.",
        ("window",),
    ),
    MetricSpec(
        WINDOW_END,
        "First instant after the period a window stands for, in Unix seconds.",
        ("window",),
    ),
    MetricSpec(
        WINDOW_ELAPSED,
        "Share of a to-date window's period elapsed at the time of the sums.",
        ("window",),
    ),
    MetricSpec(
        GROSS_MARGIN,
        'Gross margin used for lifetime value, 0 to 1; product="all" is the '
        "company-wide value.",
        ("product",),
    ),
    MetricSpec(
        LTV_CAP,
        "Customer lifetime, in months, that lifetime value assumes when churn is zero.",
        (),
    ),
    MetricSpec(
        CHURN_LOOKBACK,
        "Complete months over which lifetime value's churn rate is averaged.",
        (),
    ),
)

CATALOGUE: Final[tuple[MetricSpec, ...]] = tuple(
    sorted(
        (*(measure_metric(measure) for measure in Measure), *REFERENCE_METRICS),
        key=lambda metric: metric.name,
    )
)
"""Every family the exposition can hold, sorted by name."""

_BY_NAME: Final[Mapping[str, MetricSpec]] = {m.name: m for m in CATALOGUE}


def measure_series(samples: Iterable[Sample]) -> Iterator[Series]:
    """Yield the series of the domain's samples."""
    for sample in samples:
        yield Series(PREFIX + sample.measure.spec.name, sample.labels, sample.value)


def reference_series(reference: ReferenceData, now: datetime) -> Iterator[Series]:
    """Yield the reference series with the windows anchored at ``now``."""
    periods = reference.calendar.windows(now)
    yield from _window_series(periods, now)
    yield from _target_series(reference, periods)
    for rep in reference.reps.values():
        labels: LabelPairs = (
            ("rep", rep.rep_id),
            ("name", rep.name),
            ("team", rep.team),
            ("region", rep.region),
        )
        yield Series(REP_INFO, labels, Decimal(1))
    for campaign, channel in reference.campaign_channels.items():
        labels = (("campaign", campaign), ("channel", channel))
        yield Series(CAMPAIGN_INFO, labels, Decimal(1))
    yield Series(GROSS_MARGIN, (("product", ALL_PRODUCTS),), reference.gross_margin)
    for product, margin in reference.gross_margin_by_product.items():
        yield Series(GROSS_MARGIN, (("product", product),), margin)
    yield Series(LTV_CAP, (), Decimal(reference.ltv_cap_months))
    yield Series(CHURN_LOOKBACK, (), Decimal(reference.churn_months))


def elapsed_share(period: Period, now: datetime) -> Decimal:
    """Return the elapsed share of ``period`` at ``now`` as the exposition has it."""
    return Decimal(repr(period.elapsed_share(now)))


def _window_series(periods: Mapping[Window, Period], now: datetime) -> Iterator[Series]:
    for window, period in periods.items():
        labels = (("window", window.value),)
        yield Series(WINDOW_START, labels, Decimal(int(period.start.timestamp())))
        yield Series(WINDOW_END, labels, Decimal(int(period.end.timestamp())))
        if window.to_date:
            yield Series(WINDOW_ELAPSED, labels, elapsed_share(period, now))


def _target_series(
    reference: ReferenceData, periods: Mapping[Window, Period]
) -> Iterator[Series]:
    """Yield the target of every scope and key that has one, per period window."""
    currency = reference.rates.reporting_currency
    teams = {key for scope, key, _ in reference.targets if scope == "team"}
    teams.update(rep.team for rep in reference.reps.values())
    reps = {key for scope, key, _ in reference.targets if scope == "rep"}
    reps.update(reference.reps)
    holders = [("company", "", "", "")]
    holders.extend(("team", team, team, "") for team in sorted(teams))
    holders.extend(
        ("rep", rep_id, reference.rep(rep_id).team, rep_id) for rep_id in sorted(reps)
    )
    for window in PERIOD_WINDOWS:
        for scope, key, team, rep in holders:
            amount = reference.target(scope, key, periods[window])
            if amount is None:
                continue
            labels = (
                ("window", window.value),
                ("scope", scope),
                ("team", team),
                ("rep", rep),
                ("currency", currency),
            )
            yield Series(TARGET_AMOUNT, labels, amount)


def render(series: Iterable[Series]) -> str:
    """Return the text exposition (format 0.0.4) of ``series``.

    Families come sorted by name, each with its HELP and TYPE, and samples
    sorted by their label values in the family's label order.

    Raises:
        KeyError: a series names a family missing from the catalogue.
    """
    families: dict[str, list[Series]] = {}
    for one in series:
        families.setdefault(one.name, []).append(one)
    lines: list[str] = []
    for name in sorted(families):
        metric = _BY_NAME[name]
        lines.append(f"# HELP {name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {name} {metric.type}")
        members = sorted(families[name], key=lambda one: one.labels)
        lines.extend(_sample_line(one) for one in members)
    return "".join(f"{line}\n" for line in lines)


def exposition(
    samples: Iterable[Sample], reference: ReferenceData, now: datetime
) -> str:
    """Return the exposition of a state's samples and the reference series."""
    series = [*measure_series(samples), *reference_series(reference, now)]
    return render(series)


def format_value(value: Decimal) -> str:
    """Return ``value`` in plain decimal notation, without an exponent."""
    if value == 0:
        return "0"
    # Normalised, so that 2, 2.0 and 2.00 (a sum's exponent depends on the
    # addends it has seen) all read the same.
    return format(value.normalize(), "f")


def _sample_line(series: Series) -> str:
    value = format_value(series.value)
    if not series.labels:
        return f"{series.name} {value}"
    labels = ",".join(f'{name}="{_escape_label(text)}"' for name, text in series.labels)
    return f"{series.name}{{{labels}}} {value}"


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
