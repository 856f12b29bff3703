"""The wall: one 1080p screen in kiosk mode, read from across the room.

1920x1080 in kiosk mode holds 24 columns by about 27 grid rows (30 px a row
plus margins); the panels stay within :data:`WALL_ROWS` so that nothing needs
scrolling. Big stats carry their comparison beside the value.
"""

from __future__ import annotations

from dashboards.metrics import kpi
from dashboards.model import Board, Display, Entry, Query, RuleSettings, Threshold
from dashboards.panels import (
    MONEY,
    attainment_steps,
    month,
    read,
    rising_is_bad,
)
from dashboards.promql import panel_selector

WALL_ROWS = 26
"""The height, in grid rows, the wall's panels fit in: y + h never exceeds it."""

REVENUE = "job_window:salespulse_won_revenue:sum"
MOVEMENTS = "job_window_movement:salespulse_mrr_movement:sum"


def _revenue_entries(settings: RuleSettings) -> tuple[Entry, ...]:
    return (
        Entry(
            key="wall_revenue",
            title="Revenue this month",
            description="Revenue of the deals won this month to date, against "
            "the company's monthly target, the whole previous month and the "
            "same month last year: salespulse_won_revenue summed over workers "
            "(job_window:salespulse_won_revenue:sum); the target is "
            'salespulse_target_amount{scope="company"}.',
            queries=(
                month(REVENUE, "This month"),
                month("job_window:salespulse_target_amount:max", "Target"),
                read(REVENUE, "Last month", window="previous_month"),
                read(REVENUE, "Last year", window="same_month_last_year"),
            ),
            unit=MONEY,
            display=Display.STAT,
            width=6,
            height=7,
            metrics=(kpi("won_revenue"), kpi("target_amount")),
        ),
        Entry(
            key="wall_attainment",
            title="Attainment",
            description="Revenue this month to date over the month's target, "
            "from the summed revenue (job_window:salespulse_attainment:ratio).",
            queries=(month("job_window:salespulse_attainment:ratio", "Attained"),),
            unit="percentunit",
            display=Display.GAUGE,
            width=4,
            height=7,
            thresholds=(Threshold(None, "blue"), Threshold(1, "green")),
            minimum=0,
            maximum=1.2,
        ),
        Entry(
            key="wall_projected_attainment",
            title="Projected attainment",
            description="Where the month ends at the pace so far: revenue to "
            "date / elapsed share of the month / target "
            "(job_window:salespulse_projected_attainment:ratio). Red below "
            f"{settings.quota_attainment:.0%}, the quota-slippage threshold.",
            queries=(
                month("job_window:salespulse_projected_attainment:ratio", "Projected"),
            ),
            unit="percentunit",
            display=Display.GAUGE,
            width=4,
            height=7,
            thresholds=attainment_steps(settings.quota_attainment),
            minimum=0,
            maximum=1.5,
            metrics=(kpi("window_elapsed_ratio"),),
        ),
        Entry(
            key="wall_pipeline",
            title="Weighted pipeline",
            description="Open deals' amount times their probability, summed "
            "(job:salespulse_pipeline_weighted_amount:sum), and the part "
            "expected to close this month "
            "(salespulse_pipeline_closing_weighted_amount).",
            queries=(
                read("job:salespulse_pipeline_weighted_amount:sum", "Open"),
                month(
                    "job_window:salespulse_pipeline_closing_weighted_amount:sum",
                    "Closing this month",
                ),
            ),
            unit=MONEY,
            display=Display.STAT,
            width=5,
            height=7,
            metrics=(
                kpi("pipeline_weighted_amount"),
                kpi("pipeline_closing_weighted_amount"),
            ),
        ),
        Entry(
            key="wall_coverage",
            title="Pipeline coverage",
            description="Weighted pipeline closing in the month (quarter) over "
            "the target still to win (target - revenue), "
            "job_window:salespulse_pipeline_coverage:ratio. Infinite once the "
            f"target is met; red below {settings.coverage_ratio:g}x.",
            queries=(
                month("job_window:salespulse_pipeline_coverage:ratio", "Month"),
                read(
                    "job_window:salespulse_pipeline_coverage:ratio",
                    "Quarter",
                    window="quarter_to_date",
                ),
            ),
            unit="x",
            display=Display.STAT,
            width=5,
            height=7,
            thresholds=(
                Threshold(None, "red"),
                Threshold(settings.coverage_ratio, "orange"),
                Threshold(settings.coverage_ratio * 2, "green"),
            ),
        ),
    )


def _saas_entries(settings: RuleSettings) -> tuple[Entry, ...]:
    return (
        Entry(
            key="wall_new_mrr",
            title="New MRR",
            description="MRR of accounts paying for the first time, this "
            "month to date and the whole previous month: "
            'salespulse_mrr_movement{movement="new"} summed over workers.',
            queries=(
                read(MOVEMENTS, "This month", window="month_to_date", movement="new"),
                read(MOVEMENTS, "Last month", window="previous_month", movement="new"),
            ),
            unit=MONEY,
            display=Display.STAT,
            width=5,
            height=6,
            metrics=(kpi("mrr_movement"),),
        ),
        Entry(
            key="wall_net_new_mrr",
            title="Net new MRR",
            description="New + expansion + reactivated - contraction - churned "
            "MRR (job_window:salespulse_net_new_mrr:sum), this month and last.",
            queries=(
                month("job_window:salespulse_net_new_mrr:sum", "This month"),
                read(
                    "job_window:salespulse_net_new_mrr:sum",
                    "Last month",
                    window="previous_month",
                ),
            ),
            unit=MONEY,
            display=Display.STAT,
            width=5,
            height=6,
            thresholds=(Threshold(None, "red"), Threshold(0, "green")),
        ),
        Entry(
            key="wall_churn",
            title="Churn this month",
            description="Logo churn: accounts lost / accounts paying at the "
            "start of the month; revenue churn: (churned + contraction MRR) / "
            "MRR at the start. Both from summed counts and amounts.",
            queries=(
                month("job_window:salespulse_logo_churn:ratio", "Logos"),
                month("job_window:salespulse_revenue_churn:ratio", "Revenue"),
            ),
            unit="percentunit",
            display=Display.STAT,
            width=5,
            height=6,
            thresholds=rising_is_bad(settings.churn_ratio / 2, settings.churn_ratio),
            metrics=(kpi("accounts_lost"), kpi("paying_accounts"), kpi("mrr")),
        ),
        Entry(
            key="wall_forecast",
            title="Forecast vs target",
            description="(Revenue to date + weighted pipeline expected to "
            "close this month) / the month's target "
            "(job_window:salespulse_forecast_attainment:ratio).",
            queries=(
                month("job_window:salespulse_forecast_attainment:ratio", "Forecast"),
            ),
            unit="percentunit",
            display=Display.GAUGE,
            width=5,
            height=6,
            thresholds=attainment_steps(settings.quota_attainment),
            minimum=0,
            maximum=1.5,
        ),
        Entry(
            key="wall_growth",
            title="Growth",
            description="Revenue this month to date against the whole previous "
            "month and the whole same month last year: (revenue - base) / base "
            "(job_window:salespulse_won_revenue:growth_*).",
            queries=(
                month(
                    "job_window:salespulse_won_revenue:growth_previous_period",
                    "vs last month",
                ),
                month(
                    "job_window:salespulse_won_revenue:growth_last_year", "vs last year"
                ),
            ),
            unit="percentunit",
            display=Display.STAT,
            width=4,
            height=6,
            thresholds=(Threshold(None, "red"), Threshold(0, "green")),
        ),
    )


def _leaderboard() -> Query:
    revenue = panel_selector(
        "job_window_team_region_rep:salespulse_won_revenue:sum",
        window="month_to_date",
    )
    names = panel_selector("salespulse_rep_info")
    return Query(
        f"topk(10, {revenue})\n* on (job, rep) group_left (name)\n"
        f"max by (job, rep, name) ({names})",
        "{{name}}",
    )


def _ranking_entries(settings: RuleSettings) -> tuple[Entry, ...]:
    return (
        Entry(
            key="wall_leaderboard",
            title="Leaderboard: revenue this month",
            description="The ten reps with the most revenue won this month to "
            "date (rep revenue summed over workers), named from the rep "
            "directory (salespulse_rep_info).",
            queries=(_leaderboard(),),
            unit=MONEY,
            display=Display.BAR_GAUGE,
            width=9,
            height=13,
            minimum=0,
            metrics=(kpi("rep_info"),),
        ),
        Entry(
            key="wall_team_projection",
            title="Teams: projected attainment",
            description="Each team's revenue to date / elapsed share / team "
            "target (job_window_team:salespulse_projected_attainment:ratio), "
            "from the team's summed revenue.",
            queries=(
                month(
                    "job_window_team:salespulse_projected_attainment:ratio",
                    "{{team}}",
                ),
            ),
            unit="percentunit",
            display=Display.BAR_GAUGE,
            width=7,
            height=13,
            thresholds=attainment_steps(settings.quota_attainment),
            minimum=0,
            maximum=1.5,
        ),
        Entry(
            key="wall_revenue_trend",
            title="Revenue this month: actual, projected, target",
            description="Through the day: revenue to date, the projected "
            "month-end revenue (revenue / elapsed share) and the target.",
            queries=(
                month(REVENUE, "Revenue"),
                month("job_window:salespulse_won_revenue:projected", "Projected"),
                month("job_window:salespulse_target_amount:max", "Target"),
            ),
            unit=MONEY,
            display=Display.TIMESERIES,
            width=8,
            height=13,
            minimum=0,
        ),
    )


def wall(settings: RuleSettings) -> Board:
    """Return the wall dashboard for a TV in kiosk mode."""
    return Board(
        uid="salespulse-wall",
        title="SalesPulse / Wall",
        description="Revenue against target, projection, pipeline, "
        "leaderboard, MRR and churn on one 1080p screen (open with "
        "?kiosk&refresh=10s).",
        entries=(
            *_revenue_entries(settings),
            *_saas_entries(settings),
            *_ranking_entries(settings),
        ),
        refresh="10s",
        time_from="now-24h",
    )
