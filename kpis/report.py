"""Every KPI of the specification for one window, assembled from samples.

:func:`window_report` indexes a state's samples by measure and labels, sums
them for the window, and applies the formulas of :mod:`kpis.formulas` to give
every KPI company-wide and by the breakdowns the specification names. A KPI
whose base is zero or unknown has no value: None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from kpis.accounts import Movement
from kpis.errors import KpiError
from kpis.exposition import elapsed_share
from kpis.facts import UNKNOWN
from kpis.formulas import (
    Goal,
    Sales,
    days,
    goal,
    growth,
    lifetime_value,
    net_new_mrr,
    ratio,
    sales,
)
from kpis.ledger import Sample
from kpis.measures import Measure
from kpis.periods import PERIOD_WINDOWS, Grain, Period, Window
from kpis.reference import ReferenceData

_ZERO: Final = Decimal(0)

COMPARISONS: Final[Mapping[Window, tuple[Window | None, Window | None]]] = {
    Window.MONTH_TO_DATE: (Window.PREVIOUS_MONTH, Window.SAME_MONTH_LAST_YEAR),
    Window.QUARTER_TO_DATE: (Window.PREVIOUS_QUARTER, Window.SAME_QUARTER_LAST_YEAR),
    Window.YEAR_TO_DATE: (Window.PREVIOUS_YEAR, Window.PREVIOUS_YEAR),
}
"""The windows a to-date window's growth compares with: previous, last year."""

ACTIVITY_OUTCOMES: Final = ("qualified_lead", "meeting_booked", "sale")
"""The outcomes whose share of each kind of activity is reported."""


class SampleIndex:
    """The samples of one anchor, summed on demand by measure and labels."""

    def __init__(self, samples: Iterable[Sample]) -> None:
        self._by_measure: dict[Measure, list[tuple[dict[str, str], Decimal]]] = {}
        for sample in samples:
            entry = (dict(sample.labels), sample.value)
            self._by_measure.setdefault(sample.measure, []).append(entry)

    def total(self, measure: Measure, window: Window | None, **where: str) -> Decimal:
        """Return the sum of ``measure`` in ``window`` over samples matching ``where``.

        ``window`` is None for a level (the open pipeline).
        """
        if window is not None:
            where = {**where, "window": window.value}
        total = _ZERO
        for labels, value in self._by_measure.get(measure, ()):
            if all(labels.get(name) == text for name, text in where.items()):
                total += value
        return total

    def by(
        self, measure: Measure, window: Window | None, label: str
    ) -> dict[str, Decimal]:
        """Return the sums of ``measure`` in ``window`` by the value of ``label``."""
        sums: dict[str, Decimal] = {}
        for labels, value in self._by_measure.get(measure, ()):
            if window is not None and labels.get("window") != window.value:
                continue
            key = labels.get(label, "")
            sums[key] = sums.get(key, _ZERO) + value
        return sums

    def keys(self, label: str, measures: Iterable[Measure]) -> list[str]:
        """Return the sorted values ``label`` takes in any sample of ``measures``."""
        found = {
            labels[label]
            for measure in measures
            for labels, _ in self._by_measure.get(measure, ())
            if label in labels
        }
        return sorted(found)


@dataclass(frozen=True)
class NewBusiness:
    """Won deals of kind ``new``: size and duration from creation to win."""

    won_deals: Decimal
    average_size: Decimal | None
    average_duration_days: Decimal | None


@dataclass(frozen=True)
class RepKpis:
    """The KPIs of one rep."""

    rep: str
    team: str
    region: str
    sales: Sales
    goal: Goal
    quotes_sent: Decimal
    quote_to_close: Decimal | None
    new_business: NewBusiness
    sales_cycle_days: Decimal | None
    activities: tuple[tuple[str, Decimal], ...]
    demos_won: Decimal
    demo_win_share: Decimal | None


@dataclass(frozen=True)
class TeamKpis:
    """The KPIs of one team."""

    team: str
    sales: Sales
    goal: Goal
    reps: int
    revenue_per_rep: Decimal | None
    sales_cost: Decimal


@dataclass(frozen=True)
class SliceKpis:
    """Won deals of one region, product or channel."""

    key: str
    sales: Sales


@dataclass(frozen=True)
class PipelineKpis:
    """The open pipeline of one stage (or rep, or team)."""

    key: str
    amount: Decimal
    weighted_amount: Decimal
    open_deals: Decimal


@dataclass(frozen=True)
class LeadKpis:
    """The leads of one campaign or channel, and what they cost."""

    key: str
    leads_created: Decimal
    leads_converted: Decimal
    leads_won: Decimal
    lead_to_sale: Decimal | None
    average_conversion_days: Decimal | None
    marketing_cost: Decimal
    cost_per_lead: Decimal | None


@dataclass(frozen=True)
class ActivityKpis:
    """Activities of one kind and the share that led to each outcome."""

    kind: str
    count: Decimal
    outcome_shares: tuple[tuple[str, Decimal | None], ...]


@dataclass(frozen=True)
class Subscriptions:
    """MRR, paying accounts, churn, lifetime value and acquisition cost.

    Attributes:
        mrr_start: MRR at the start of the window.
        mrr: MRR at the end of the window (as of now for a to-date one).
        movements: MRR movements by kind, each positive.
        net_new_mrr: new + expansion + reactivated - contraction - churned.
        paying_start, paying_end: paying accounts at the start and the end.
        accounts_gained, accounts_lost: accounts that started or stopped paying.
        churn: accounts lost / paying accounts at the start.
        retention: (paying at the end - gained) / paying at the start.
        revenue_churn: (churned + contraction MRR) / MRR at the start.
        arpa: MRR / paying accounts at the end.
        monthly_churn: logo churn of the last complete month(s) LTV uses.
        lifetime_value: ARPA x gross margin / monthly churn (capped).
        acquisition_cost: (sales + marketing cost) / accounts gained.
        ltv_to_cac: lifetime value / acquisition cost.
        cac_payback_months: acquisition cost / (ARPA x gross margin).
    """

    mrr_start: Decimal
    mrr: Decimal
    movements: tuple[tuple[str, Decimal], ...]
    net_new_mrr: Decimal
    paying_start: Decimal
    paying_end: Decimal
    accounts_gained: Decimal
    accounts_lost: Decimal
    churn: Decimal | None
    retention: Decimal | None
    revenue_churn: Decimal | None
    arpa: Decimal | None
    monthly_churn: Decimal | None
    lifetime_value: Decimal | None
    acquisition_cost: Decimal | None
    ltv_to_cac: Decimal | None
    cac_payback_months: Decimal | None


@dataclass(frozen=True)
class CompanyKpis:
    """The company-wide KPIs of a window."""

    sales: Sales
    growth_vs_previous: Decimal | None
    growth_vs_last_year: Decimal | None
    goal: Goal
    quotes_sent: Decimal
    quote_to_close: Decimal | None
    paying_accounts_won: Decimal
    revenue_per_account: Decimal | None
    new_business: NewBusiness
    sales_cycle_days: Decimal | None
    leads: LeadKpis
    weighted_pipeline: Decimal
    pipeline: Decimal
    demos: Decimal
    onboarding_calls: Decimal
    demo_win_share: Decimal | None
    subscriptions: Subscriptions


@dataclass(frozen=True)
class WindowReport:
    """Every KPI of one window, company-wide and by each breakdown."""

    window: Window
    period: str
    start: datetime
    end: datetime
    company: CompanyKpis
    reps: tuple[RepKpis, ...]
    teams: tuple[TeamKpis, ...]
    regions: tuple[SliceKpis, ...]
    products: tuple[SliceKpis, ...]
    channels: tuple[SliceKpis, ...]
    campaigns: tuple[LeadKpis, ...]
    lead_channels: tuple[LeadKpis, ...]
    stages: tuple[PipelineKpis, ...]
    activities: tuple[ActivityKpis, ...]


class ReportError(KpiError):
    """A report that cannot be computed from the samples given."""


_REP_MEASURES: Final = (
    Measure.WON_REVENUE,
    Measure.QUOTES_SENT,
    Measure.ACTIVITIES,
    Measure.PIPELINE_CLOSING_WEIGHTED_AMOUNT,
)
_LEAD_MEASURES: Final = (
    Measure.LEADS_CREATED,
    Measure.LEADS_CONVERTED,
    Measure.LEADS_WON,
    Measure.LEAD_CONVERSION_SECONDS,
    Measure.LEADS_CONVERTED_TIMED,
)


def churn_anchors(reference: ReferenceData, now: datetime) -> tuple[datetime, ...]:
    """Return the instants whose previous month is each earlier month LTV averages.

    The samples at ``now`` give the last complete month; the samples at the
    k-th instant returned give the month k months before it. With
    ``churn_months`` of 1 there is none.
    """
    calendar = reference.calendar
    month = calendar.period(Grain.MONTH, now)
    anchors = []
    for _ in range(reference.churn_months - 1):
        month = calendar.previous(month)
        anchors.append(month.start)
    return tuple(anchors)


def monthly_churn(months: Sequence[SampleIndex]) -> Decimal | None:
    """Return the logo churn of the previous month of each index, pooled.

    The pooled rate is the accounts lost over the months divided by the
    accounts paying at each month's start, summed: the average of the monthly
    rates weighted by accounts, a ratio of sums like every KPI here.
    """
    lost = _ZERO
    paying = _ZERO
    for index in months:
        lost += index.total(Measure.ACCOUNTS_LOST, Window.PREVIOUS_MONTH)
        paying += index.total(
            Measure.PAYING_ACCOUNTS, Window.PREVIOUS_MONTH, at="start"
        )
    return ratio(lost, paying)


def window_report(
    samples: Iterable[Sample],
    reference: ReferenceData,
    now: datetime,
    window: Window,
    *,
    earlier: Sequence[Iterable[Sample]] = (),
) -> WindowReport:
    """Return every KPI of ``window`` from the samples of a state at ``now``.

    Args:
        samples: the state's samples with the windows anchored at ``now``.
        reference: the reference data the samples were computed with.
        now: the instant the windows are anchored at.
        window: a month, quarter or year window; the day and week windows
            keep only activities (see :func:`activity_kpis`).
        earlier: the samples anchored at each of :func:`churn_anchors`, for a
            lifetime value that averages churn over several months; without
            them the last complete month alone is used.

    Raises:
        ReportError: ``window`` is a day or week window.
    """
    if window not in PERIOD_WINDOWS:
        raise ReportError(
            f"window: {window.value!r} keeps only activities; accepted: "
            + ", ".join(w.value for w in PERIOD_WINDOWS)
        )
    index = SampleIndex(samples)
    lookback = [index, *(SampleIndex(s) for s in earlier)][: reference.churn_months]
    period = reference.calendar.windows(now)[window]
    context = _Context(index, reference, window, period, elapsed_share(period, now))
    return WindowReport(
        window=window,
        period=period.label,
        start=period.start,
        end=period.end,
        company=context.company(monthly_churn(lookback)),
        reps=context.reps(),
        teams=context.teams(),
        regions=context.slices(
            "region", Measure.WON_REVENUE, Measure.WON_COST, Measure.WON_DEALS
        ),
        products=context.slices(
            "product",
            Measure.PRODUCT_WON_REVENUE,
            Measure.PRODUCT_WON_COST,
            Measure.PRODUCT_WON_DEALS,
        ),
        channels=context.slices(
            "channel", Measure.CHANNEL_WON_REVENUE, None, Measure.CHANNEL_WON_DEALS
        ),
        campaigns=context.campaigns(),
        lead_channels=context.lead_channels(),
        stages=pipeline_kpis(index, "stage"),
        activities=activity_kpis(index, window),
    )


def activity_kpis(index: SampleIndex, window: Window) -> tuple[ActivityKpis, ...]:
    """Return the activities of each kind and the share of each outcome."""
    outcomes: dict[str, dict[str, Decimal]] = {}
    for kind in index.keys("kind", (Measure.ACTIVITY_OUTCOMES,)):
        outcomes[kind] = {
            outcome: index.total(
                Measure.ACTIVITY_OUTCOMES, window, kind=kind, outcome=outcome
            )
            for outcome in ACTIVITY_OUTCOMES
        }
    rows = []
    for kind in sorted(outcomes):
        count = index.total(Measure.ACTIVITY_OUTCOMES, window, kind=kind)
        shares = tuple(
            (outcome, ratio(outcomes[kind][outcome], count))
            for outcome in ACTIVITY_OUTCOMES
        )
        rows.append(ActivityKpis(kind, count, shares))
    return tuple(rows)


def pipeline_kpis(index: SampleIndex, label: str) -> tuple[PipelineKpis, ...]:
    """Return the open pipeline by ``label`` (stage, rep or team)."""
    amounts = index.by(Measure.PIPELINE_AMOUNT, None, label)
    weighted = index.by(Measure.PIPELINE_WEIGHTED_AMOUNT, None, label)
    counts = index.by(Measure.OPEN_DEALS, None, label)
    return tuple(
        PipelineKpis(
            key,
            amounts.get(key, _ZERO),
            weighted.get(key, _ZERO),
            counts.get(key, _ZERO),
        )
        for key in sorted(counts)
    )


class _Context:
    """The sums of one window, and the KPIs assembled from them."""

    def __init__(
        self,
        index: SampleIndex,
        reference: ReferenceData,
        window: Window,
        period: Period,
        elapsed: Decimal,
    ) -> None:
        self.index = index
        self.reference = reference
        self.window = window
        self.period = period
        self.elapsed = elapsed
        self.revenue = index.total(Measure.WON_REVENUE, window)

    def total(self, measure: Measure, **where: str) -> Decimal:
        """Return the window's sum of ``measure`` over samples matching ``where``."""
        return self.index.total(measure, self.window, **where)

    def sales(self, **where: str) -> Sales:
        """Return the won deals of the rep-labelled samples matching ``where``."""
        return sales(
            self.total(Measure.WON_REVENUE, **where),
            self.total(Measure.WON_COST, **where),
            self.total(Measure.WON_DEALS, **where),
            self.revenue,
        )

    def goal(self, scope: str, key: str, **where: str) -> Goal:
        """Return the goal of a scope, its revenue from samples matching ``where``."""
        return goal(
            self.total(Measure.WON_REVENUE, **where),
            self.total(Measure.PIPELINE_CLOSING_WEIGHTED_AMOUNT, **where),
            self.reference.target(scope, key, self.period),
            self.elapsed,
        )

    def new_business(self, **where: str) -> NewBusiness:
        """Return the won new-business deals matching ``where``."""
        count = self.total(Measure.NEW_WON_DEALS, **where)
        return NewBusiness(
            won_deals=count,
            average_size=ratio(self.total(Measure.NEW_WON_REVENUE, **where), count),
            average_duration_days=days(
                self.total(Measure.NEW_WON_DURATION_SECONDS, **where),
                self.total(Measure.NEW_WON_TIMED_DEALS, **where),
            ),
        )

    def cycle_days(self, **where: str) -> Decimal | None:
        """Return the average sales cycle of the won deals matching ``where``."""
        return days(
            self.total(Measure.WON_CYCLE_SECONDS, **where),
            self.total(Measure.WON_CYCLE_DEALS, **where),
        )

    def company(self, churn: Decimal | None) -> CompanyKpis:
        """Return the company-wide KPIs; ``churn`` is LTV's monthly churn."""
        previous, last_year = COMPARISONS.get(self.window, (None, None))
        quotes = self.total(Measure.QUOTES_SENT)
        demos = self.total(Measure.ACTIVITIES, kind="demo")
        accounts = self.total(Measure.WON_ACCOUNTS)
        return CompanyKpis(
            sales=self.sales(),
            growth_vs_previous=self._growth(previous),
            growth_vs_last_year=self._growth(last_year),
            goal=self.goal("company", ""),
            quotes_sent=quotes,
            quote_to_close=ratio(self.total(Measure.WON_DEALS), quotes),
            paying_accounts_won=accounts,
            revenue_per_account=ratio(self.revenue, accounts),
            new_business=self.new_business(),
            sales_cycle_days=self.cycle_days(),
            leads=self._leads("all", self.total(Measure.MARKETING_COST)),
            weighted_pipeline=self.index.total(Measure.PIPELINE_WEIGHTED_AMOUNT, None),
            pipeline=self.index.total(Measure.PIPELINE_AMOUNT, None),
            demos=demos,
            onboarding_calls=self.total(Measure.ACTIVITIES, kind="onboarding"),
            demo_win_share=ratio(self.total(Measure.DEMOS_WON), demos),
            subscriptions=self.subscriptions(churn),
        )

    def _growth(self, base_window: Window | None) -> Decimal | None:
        if base_window is None:
            return None
        return growth(self.revenue, self.index.total(Measure.WON_REVENUE, base_window))

    def reps(self) -> tuple[RepKpis, ...]:
        """Return each rep's KPIs, highest revenue first."""
        rep_ids = set(self.index.keys("rep", _REP_MEASURES))
        rep_ids.update(self.reference.reps)
        rows = [self._rep(rep_id) for rep_id in rep_ids]
        return tuple(sorted(rows, key=lambda row: (-row.sales.revenue, row.rep)))

    def _rep(self, rep_id: str) -> RepKpis:
        rep = self.reference.rep(rep_id)
        quotes = self.total(Measure.QUOTES_SENT, rep=rep_id)
        won = self.total(Measure.WON_DEALS, rep=rep_id)
        kinds = self.index.by(Measure.ACTIVITIES, self.window, "kind")
        activities = {
            kind: self.total(Measure.ACTIVITIES, rep=rep_id, kind=kind)
            for kind in sorted(kinds)
        }
        demos = activities.get("demo", _ZERO)
        demos_won = self.total(Measure.DEMOS_WON, rep=rep_id)
        return RepKpis(
            rep=rep_id,
            team=rep.team,
            region=rep.region,
            sales=self.sales(rep=rep_id),
            goal=self.goal("rep", rep_id, rep=rep_id),
            quotes_sent=quotes,
            quote_to_close=ratio(won, quotes),
            new_business=self.new_business(rep=rep_id),
            sales_cycle_days=self.cycle_days(rep=rep_id),
            activities=tuple(activities.items()),
            demos_won=demos_won,
            demo_win_share=ratio(demos_won, demos),
        )

    def teams(self) -> tuple[TeamKpis, ...]:
        """Return each team's KPIs, highest revenue first."""
        names = set(self.index.keys("team", _REP_MEASURES))
        names.update(self.index.keys("team", (Measure.SALES_COST,)))
        names.update(rep.team for rep in self.reference.reps.values())
        rows = []
        for team in names:
            members = sum(1 for r in self.reference.reps.values() if r.team == team)
            team_sales = self.sales(team=team)
            rows.append(
                TeamKpis(
                    team=team,
                    sales=team_sales,
                    goal=self.goal("team", team, team=team),
                    reps=members,
                    revenue_per_rep=ratio(team_sales.revenue, Decimal(members)),
                    sales_cost=self.total(Measure.SALES_COST, team=team),
                )
            )
        return tuple(sorted(rows, key=lambda row: (-row.sales.revenue, row.team)))

    def slices(
        self,
        label: str,
        revenue: Measure,
        cost: Measure | None,
        count: Measure,
    ) -> tuple[SliceKpis, ...]:
        """Return the won deals by ``label``, highest revenue first."""
        revenues = self.index.by(revenue, self.window, label)
        costs = self.index.by(cost, self.window, label) if cost is not None else {}
        counts = self.index.by(count, self.window, label)
        rows = [
            SliceKpis(
                key,
                sales(
                    revenues.get(key, _ZERO),
                    costs.get(key, _ZERO) if cost is not None else None,
                    counts.get(key, _ZERO),
                    self.revenue,
                ),
            )
            for key in set(revenues) | set(counts)
        ]
        return tuple(sorted(rows, key=lambda row: (-row.sales.revenue, row.key)))

    def _leads(self, key: str, cost: Decimal, **where: str) -> LeadKpis:
        created = self.total(Measure.LEADS_CREATED, **where)
        won = self.total(Measure.LEADS_WON, **where)
        return LeadKpis(
            key=key,
            leads_created=created,
            leads_converted=self.total(Measure.LEADS_CONVERTED, **where),
            leads_won=won,
            lead_to_sale=ratio(won, created),
            average_conversion_days=days(
                self.total(Measure.LEAD_CONVERSION_SECONDS, **where),
                self.total(Measure.LEADS_CONVERTED_TIMED, **where),
            ),
            marketing_cost=cost,
            cost_per_lead=ratio(cost, created),
        )

    def campaigns(self) -> tuple[LeadKpis, ...]:
        """Return the leads and cost of each campaign."""
        costs = self.index.by(Measure.MARKETING_COST, self.window, "campaign")
        names = set(self.index.keys("campaign", _LEAD_MEASURES)) | set(costs)
        return tuple(
            self._leads(name, costs.get(name, _ZERO), campaign=name)
            for name in sorted(names)
        )

    def lead_channels(self) -> tuple[LeadKpis, ...]:
        """Return the leads of each channel and the cost of its campaigns.

        A campaign's cost goes to its channel in the reference data's
        ``campaign_channels``; a campaign missing there is ``unknown``.
        """
        channels = self.reference.campaign_channels
        costs: dict[str, Decimal] = {}
        by_campaign = self.index.by(Measure.MARKETING_COST, self.window, "campaign")
        for campaign, amount in by_campaign.items():
            channel = channels.get(campaign, UNKNOWN)
            costs[channel] = costs.get(channel, _ZERO) + amount
        names = set(self.index.keys("channel", _LEAD_MEASURES)) | set(costs)
        return tuple(
            self._leads(name, costs.get(name, _ZERO), channel=name)
            for name in sorted(names)
        )

    def subscriptions(self, churn: Decimal | None) -> Subscriptions:
        """Return MRR, churn, lifetime value and acquisition cost."""
        mrr_start = self.total(Measure.MRR, at="start")
        mrr = self.total(Measure.MRR, at="end")
        paying_start = self.total(Measure.PAYING_ACCOUNTS, at="start")
        paying_end = self.total(Measure.PAYING_ACCOUNTS, at="end")
        gained = self.total(Measure.ACCOUNTS_GAINED)
        lost = self.total(Measure.ACCOUNTS_LOST)
        movements = {
            m.value: self.total(Measure.MRR_MOVEMENT, movement=m.value)
            for m in Movement
        }
        arpa = ratio(mrr, paying_end)
        margin = self.reference.gross_margin
        ltv = lifetime_value(arpa, margin, churn, self.reference.ltv_cap_months)
        spent = self.total(Measure.SALES_COST) + self.total(Measure.MARKETING_COST)
        cac = ratio(spent, gained)
        return Subscriptions(
            mrr_start=mrr_start,
            mrr=mrr,
            movements=tuple(movements.items()),
            net_new_mrr=net_new_mrr(movements),
            paying_start=paying_start,
            paying_end=paying_end,
            accounts_gained=gained,
            accounts_lost=lost,
            churn=ratio(lost, paying_start),
            retention=ratio(paying_end - gained, paying_start),
            revenue_churn=ratio(
                movements[Movement.CHURNED] + movements[Movement.CONTRACTION],
                mrr_start,
            ),
            arpa=arpa,
            monthly_churn=churn,
            lifetime_value=ltv,
            acquisition_cost=cac,
            ltv_to_cac=ratio(ltv, cac),
            cac_payback_months=ratio(cac, None if arpa is None else arpa * margin),
        )
