"""The KPIs of won deals and reps' work: margin, conversion, size, cycle, mix.

Every ratio divides sums recorded first, at the level of the ratio; none is an
average of finer ratios.
"""

from __future__ import annotations

from dashboards.metrics import kpi
from dashboards.model import Kpi, RecordingRule
from dashboards.promql import on, ratio_rule, record_name, sum_rule
from dashboards.sales import COMPANY, REGION, REP, REVENUE, RULE_FILE, TEAM

PRODUCT = ("job", "window", "product")
CHANNEL = ("job", "window", "channel")
KIND = ("job", "window", "kind")
REP_KIND = ("job", "window", "team", "region", "rep", "kind")
KIND_OUTCOME = ("job", "window", "kind", "outcome")
SECONDS_PER_DAY = 86400


def _sum(level: tuple[str, ...], measure: str) -> str:
    return record_name(level, f"salespulse_{measure}", "sum")


def margin() -> Kpi:
    """Return the profit margin of won deals: (revenue - cost) / revenue."""
    levels = (COMPANY, TEAM, REP, REGION)
    return Kpi(
        key="margin",
        title="Profit margin",
        rule_file=RULE_FILE,
        metrics=(kpi("won_cost"),),
        recording_rules=(
            *(sum_rule(level, "won_cost") for level in levels),
            *(
                ratio_rule(
                    level,
                    "won_margin",
                    f"({REVENUE[level]} - {_sum(level, 'won_cost')})",
                    REVENUE[level],
                    "Profit margin of the deals won: (revenue - cost) / revenue.",
                )
                for level in levels
            ),
        ),
    )


def conversion() -> Kpi:
    """Return quote-to-close and the average values of won deals."""
    levels = (COMPANY, TEAM, REP)
    deals = {level: _sum(level, "won_deals") for level in levels}
    return Kpi(
        key="conversion",
        title="Quote-to-close and deal value",
        rule_file=RULE_FILE,
        metrics=(kpi("won_deals"), kpi("quotes_sent"), kpi("won_accounts")),
        recording_rules=(
            *(
                sum_rule(level, measure)
                for measure in ("won_deals", "quotes_sent")
                for level in levels
            ),
            sum_rule(COMPANY, "won_accounts"),
            *(
                ratio_rule(
                    level,
                    "quote_to_close",
                    deals[level],
                    _sum(level, "quotes_sent"),
                    "Deals won over distinct quotes sent in the window.",
                )
                for level in levels
            ),
            *(
                ratio_rule(
                    level,
                    "average_deal_value",
                    REVENUE[level],
                    deals[level],
                    "Average purchase value: revenue over deals won.",
                )
                for level in levels
            ),
            ratio_rule(
                COMPANY,
                "revenue_per_account",
                REVENUE[COMPANY],
                _sum(COMPANY, "won_accounts"),
                "Revenue over the distinct accounts with a win in the window.",
            ),
        ),
    )


def _days(level: tuple[str, ...], name: str, seconds: str, count: str) -> RecordingRule:
    return RecordingRule(
        record=record_name(level, f"salespulse_{name}", "days"),
        expr=f"{_sum(level, seconds)}\n/\n({_sum(level, count)} > 0)\n"
        f"/ {SECONDS_PER_DAY}",
        meaning=f"Summed seconds over the deals timed (`{seconds}` / "
        f"`{count}`), in days.",
    )


def deal_timing() -> Kpi:
    """Return new-business deal size and duration, and the sales cycle."""
    measures = (
        "new_won_revenue",
        "new_won_deals",
        "new_won_duration_seconds",
        "new_won_timed_deals",
        "won_cycle_seconds",
        "won_cycle_deals",
    )
    return Kpi(
        key="deal_timing",
        title="New deal size, duration and sales cycle",
        rule_file=RULE_FILE,
        metrics=tuple(kpi(measure) for measure in measures),
        recording_rules=(
            *(sum_rule(COMPANY, measure) for measure in measures),
            ratio_rule(
                COMPANY,
                "new_deal_size",
                _sum(COMPANY, "new_won_revenue"),
                _sum(COMPANY, "new_won_deals"),
                "Average revenue of a won new-business deal.",
            ),
            _days(
                COMPANY,
                "new_deal_duration",
                "new_won_duration_seconds",
                "new_won_timed_deals",
            ),
            _days(COMPANY, "sales_cycle", "won_cycle_seconds", "won_cycle_deals"),
        ),
    )


def sales_per_rep() -> Kpi:
    """Return a team's revenue over the reps the directory puts in it."""
    reps = "job_team:salespulse_rep_info:count"
    return Kpi(
        key="sales_per_rep",
        title="Sales per rep",
        rule_file=RULE_FILE,
        metrics=(kpi("rep_info"),),
        recording_rules=(
            RecordingRule(
                record=reps,
                expr="count by (job, team) "
                "(max by (job, team, rep) (salespulse_rep_info))",
                meaning="Reps of each team in the rep directory.",
            ),
            ratio_rule(
                TEAM,
                "sales_per_rep",
                REVENUE[TEAM],
                reps,
                "Team revenue over the reps of the team in the directory.",
                matching=f"{on(('job', 'team'))} group_left ()",
            ),
        ),
    )


def product_mix() -> Kpi:
    """Return revenue, deals and margin by product, and revenue by channel."""
    product = ("product_won_revenue", "product_won_cost", "product_won_deals")
    channel = ("channel_won_revenue", "channel_won_deals")
    revenue = _sum(PRODUCT, "product_won_revenue")
    return Kpi(
        key="product_mix",
        title="Products and channels",
        rule_file=RULE_FILE,
        metrics=tuple(kpi(measure) for measure in (*product, *channel)),
        recording_rules=(
            *(sum_rule(PRODUCT, measure) for measure in product),
            *(sum_rule(CHANNEL, measure) for measure in channel),
            ratio_rule(
                PRODUCT,
                "product_margin",
                f"({revenue} - {_sum(PRODUCT, 'product_won_cost')})",
                revenue,
                "Profit margin of a product's won deals, from its sums.",
            ),
            ratio_rule(
                CHANNEL,
                "channel_revenue_share",
                _sum(CHANNEL, "channel_won_revenue"),
                REVENUE[COMPANY],
                "A contact method's revenue over the total revenue.",
                matching=f"{on(COMPANY)} group_left ()",
            ),
        ),
    )


def activities() -> Kpi:
    """Return activity counts, outcome rates and the demo win share."""
    outcomes = _sum(KIND_OUTCOME, "activity_outcomes")
    return Kpi(
        key="activities",
        title="Activities and outcomes",
        rule_file=RULE_FILE,
        metrics=(kpi("activities"), kpi("activity_outcomes"), kpi("demos_won")),
        recording_rules=(
            sum_rule(KIND, "activities"),
            sum_rule(REP_KIND, "activities"),
            sum_rule(KIND_OUTCOME, "activity_outcomes"),
            sum_rule(COMPANY, "demos_won"),
            sum_rule(REP, "demos_won"),
            ratio_rule(
                KIND_OUTCOME,
                "activity_outcome",
                outcomes,
                f"sum by (job, window, kind) ({outcomes})",
                "Share of a kind's activities that had each outcome.",
                matching=f"{on(KIND)} group_left ()",
            ),
            ratio_rule(
                COMPANY,
                "demo_win",
                _sum(COMPANY, "demos_won"),
                f'{_sum(KIND, "activities")}{{kind="demo"}}',
                "Demos whose deal was won over demos given.",
                matching=on(COMPANY),
            ),
            ratio_rule(
                REP,
                "demo_win",
                _sum(REP, "demos_won"),
                f'{_sum(REP_KIND, "activities")}{{kind="demo"}}',
                "A rep's demos whose deal was won over the rep's demos.",
                matching="ignoring (kind)",
            ),
        ),
    )
