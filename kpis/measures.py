"""The additive measures every KPI is computed from.

Every KPI of the spec is a ratio or a combination of sums and counts. The
domain keeps only these sums (the measures), at the finest grain the labels
below allow, so that several workers can each export the sums of the entities
they own and Prometheus adds them up; ratios are computed afterwards, from the
sums, by the recording rules and by :mod:`kpis.report`.

A measure is one of three kinds:

- a *flow* happens at an instant (a deal won, a lead created) and is summed
  over each calendar window that holds the instant (month to date, previous
  month, ...);
- a *level* is a sum over entities as they stand now (the open pipeline);
- a *balance* is the running sum of dated changes (MRR, paying accounts): its
  value at the start and at the end of each window is exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Kind(StrEnum):
    """How a measure is summed over time."""

    FLOW = "flow"
    LEVEL = "level"
    BALANCE = "balance"


class Unit(StrEnum):
    """What a measure's value counts; money is in the reporting currency."""

    MONEY = "money"
    COUNT = "count"
    SECONDS = "seconds"


@dataclass(frozen=True)
class MeasureSpec:
    """The definition of one measure.

    Attributes:
        name: the metric name after the ``salespulse_`` prefix.
        kind: flow, level or balance.
        unit: money (labelled with the reporting currency), count or seconds.
        labels: the label names, in order, that the measure is broken down by;
            ``rep`` implies ``team`` and ``region`` from the rep directory.
        daily: also summed by day and ISO week (``today``, ``week_to_date``).
        help: the metric's HELP text.
    """

    name: str
    kind: Kind
    unit: Unit
    labels: tuple[str, ...]
    help: str
    daily: bool = False


def _flow(
    name: str, unit: Unit, labels: tuple[str, ...], help: str, daily: bool = False
) -> MeasureSpec:
    return MeasureSpec(name, Kind.FLOW, unit, labels, help, daily)


class Measure(Enum):
    """Every measure the domain keeps."""

    # Measures key every sum: hash them by identity, in C, rather than by
    # Enum's hash of the member's name, which is a Python call.
    __hash__ = object.__hash__

    # Won deals, in the period of the deal.won event, by rep.
    WON_REVENUE = _flow(
        "won_revenue", Unit.MONEY, ("rep",), "Revenue of won deals, by rep."
    )
    WON_COST = _flow(
        "won_cost", Unit.MONEY, ("rep",), "Total cost of the won deals, by rep."
    )
    WON_DEALS = _flow("won_deals", Unit.COUNT, ("rep",), "Won deals, by rep.")
    WON_CYCLE_SECONDS = _flow(
        "won_cycle_seconds",
        Unit.SECONDS,
        ("rep",),
        "Summed time from a won deal's first interaction (its lead's creation, "
        "else its own) to the win, by rep.",
    )
    WON_CYCLE_DEALS = _flow(
        "won_cycle_deals",
        Unit.COUNT,
        ("rep",),
        "Won deals whose first interaction is known (the count behind the cycle sum).",
    )
    # Won deals by product and by the channel the deal started from.
    PRODUCT_WON_REVENUE = _flow(
        "product_won_revenue",
        Unit.MONEY,
        ("product",),
        "Revenue of won deals, by product.",
    )
    PRODUCT_WON_COST = _flow(
        "product_won_cost", Unit.MONEY, ("product",), "Cost of won deals, by product."
    )
    PRODUCT_WON_DEALS = _flow(
        "product_won_deals", Unit.COUNT, ("product",), "Won deals, by product."
    )
    CHANNEL_WON_REVENUE = _flow(
        "channel_won_revenue",
        Unit.MONEY,
        ("channel",),
        "Revenue of won deals, by the contact method the deal started from.",
    )
    CHANNEL_WON_DEALS = _flow(
        "channel_won_deals",
        Unit.COUNT,
        ("channel",),
        "Won deals, by the contact method the deal started from.",
    )
    # Won deals of kind "new": size and duration from deal.created.
    NEW_WON_REVENUE = _flow(
        "new_won_revenue", Unit.MONEY, ("rep",), "Revenue of won new-business deals."
    )
    NEW_WON_DEALS = _flow(
        "new_won_deals", Unit.COUNT, ("rep",), "Won new-business deals."
    )
    NEW_WON_DURATION_SECONDS = _flow(
        "new_won_duration_seconds",
        Unit.SECONDS,
        ("rep",),
        "Summed time from deal.created to deal.won of won new-business deals "
        "whose creation is known.",
    )
    NEW_WON_TIMED_DEALS = _flow(
        "new_won_timed_deals",
        Unit.COUNT,
        ("rep",),
        "Won new-business deals whose deal.created is known (the count behind "
        "the duration sum).",
    )
    WON_ACCOUNTS = _flow(
        "won_accounts",
        Unit.COUNT,
        (),
        "Distinct accounts with at least one won deal in the window.",
    )
    QUOTES_SENT = _flow(
        "quotes_sent", Unit.COUNT, ("rep",), "Distinct quotes sent, by rep."
    )
    # The open pipeline as it stands now.
    PIPELINE_AMOUNT = MeasureSpec(
        "pipeline_amount",
        Kind.LEVEL,
        Unit.MONEY,
        ("stage", "rep"),
        "Amount of the open deals, unweighted, by stage and rep.",
    )
    PIPELINE_WEIGHTED_AMOUNT = MeasureSpec(
        "pipeline_weighted_amount",
        Kind.LEVEL,
        Unit.MONEY,
        ("stage", "rep"),
        "Amount of the open deals times their probability (the deal's own, else "
        "its stage's weight), by stage and rep.",
    )
    OPEN_DEALS = MeasureSpec(
        "open_deals", Kind.LEVEL, Unit.COUNT, ("stage", "rep"), "Open deals."
    )
    # Open deals by the period of their expected close date: the forecast.
    PIPELINE_CLOSING_WEIGHTED_AMOUNT = _flow(
        "pipeline_closing_weighted_amount",
        Unit.MONEY,
        ("rep",),
        "Weighted amount of the open deals expected to close in the window, by "
        "the period of their close_date.",
    )
    # Leads, in the period of lead.created, lead.converted, or the deal's win.
    LEADS_CREATED = _flow(
        "leads_created", Unit.COUNT, ("channel", "campaign"), "Leads created."
    )
    LEADS_CONVERTED = _flow(
        "leads_converted",
        Unit.COUNT,
        ("channel", "campaign"),
        "Leads converted to a deal, in the period of the conversion.",
    )
    LEAD_CONVERSION_SECONDS = _flow(
        "lead_conversion_seconds",
        Unit.SECONDS,
        ("channel", "campaign"),
        "Summed time from lead.created to lead.converted of converted leads "
        "whose creation is known.",
    )
    LEADS_CONVERTED_TIMED = _flow(
        "leads_converted_timed",
        Unit.COUNT,
        ("channel", "campaign"),
        "Converted leads whose lead.created is known (the count behind the "
        "conversion time sum).",
    )
    LEADS_WON = _flow(
        "leads_won",
        Unit.COUNT,
        ("channel", "campaign"),
        "Leads whose deal was won, in the period of the win.",
    )
    # Activities, in the period of activity.logged.
    ACTIVITIES = _flow(
        "activities",
        Unit.COUNT,
        ("rep", "kind"),
        "Activities logged, by rep and kind.",
        daily=True,
    )
    ACTIVITY_OUTCOMES = _flow(
        "activity_outcomes",
        Unit.COUNT,
        ("kind", "outcome"),
        "Activities logged, by kind and outcome.",
        daily=True,
    )
    DEMOS_WON = _flow(
        "demos_won",
        Unit.COUNT,
        ("rep",),
        "Demos, in the period of the demo, whose deal was won (so far).",
    )
    # Costs, in the period of cost.recorded.
    MARKETING_COST = _flow(
        "marketing_cost",
        Unit.MONEY,
        ("campaign",),
        "Marketing costs recorded, by campaign.",
    )
    SALES_COST = _flow(
        "sales_cost", Unit.MONEY, ("team",), "Sales costs recorded, by team."
    )
    # Subscriptions: MRR movements and accounts, by account-level change.
    MRR_MOVEMENT = _flow(
        "mrr_movement",
        Unit.MONEY,
        ("movement",),
        "MRR movements by kind (new, expansion, contraction, churned, "
        "reactivated), each a positive amount.",
    )
    ACCOUNTS_GAINED = _flow(
        "accounts_gained",
        Unit.COUNT,
        (),
        "Accounts that started paying (new or reactivated).",
    )
    ACCOUNTS_NEW = _flow(
        "accounts_new", Unit.COUNT, (), "Accounts that paid for the first time."
    )
    ACCOUNTS_LOST = _flow(
        "accounts_lost", Unit.COUNT, (), "Paying accounts whose MRR went to zero."
    )
    MRR = MeasureSpec(
        "mrr",
        Kind.BALANCE,
        Unit.MONEY,
        (),
        "Monthly recurring revenue, summed over accounts.",
    )
    PAYING_ACCOUNTS = MeasureSpec(
        "paying_accounts",
        Kind.BALANCE,
        Unit.COUNT,
        (),
        "Accounts with MRR above zero.",
    )

    @property
    def spec(self) -> MeasureSpec:
        """Return the measure's definition."""
        spec: MeasureSpec = self.value
        return spec
