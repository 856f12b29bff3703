"""The drill-down dashboards: pipeline, reps, products, SaaS revenue, marketing.

Each panel reads a recording rule of :mod:`dashboards.sales`,
:mod:`dashboards.deals` or :mod:`dashboards.saas`, so that a ratio on a board
is the same ratio the alerts and the operations team see in Prometheus.
"""

from __future__ import annotations

from dashboards.metrics import kpi
from dashboards.model import Board, Display, Entry, Query, RuleSettings, Threshold
from dashboards.panels import MONEY, attainment_steps, month, read

_WIDE = 12
_TALL = 9


def _panel(
    key: str,
    title: str,
    description: str,
    queries: tuple[Query, ...],
    unit: str,
    *,
    display: Display = Display.BAR_GAUGE,
    width: int = _WIDE,
    thresholds: tuple[Threshold, ...] = (),
) -> Entry:
    return Entry(
        key=key,
        title=title,
        description=description,
        queries=queries,
        unit=unit,
        display=display,
        width=width,
        height=_TALL if display is not Display.STAT else 5,
        thresholds=thresholds,
        minimum=0 if unit != "percentunit" or display is Display.BAR_GAUGE else None,
    )


def pipeline_board(settings: RuleSettings) -> Board:
    """Return the pipeline dashboard: by stage, team and rep; coverage."""
    weighted = "salespulse_pipeline_weighted_amount"
    return Board(
        uid="salespulse-pipeline",
        title="SalesPulse / Pipeline",
        description="The open pipeline as it stands, by stage, team and rep, "
        "and how well it covers the target still to win.",
        entries=(
            _panel(
                "pipeline_by_stage",
                "Weighted and unweighted pipeline, by stage",
                "Open deals' amount (unweighted) and amount * probability "
                "(weighted), summed over workers by stage.",
                (
                    read(f"job_stage:{weighted}:sum", "{{stage}} weighted"),
                    read("job_stage:salespulse_pipeline_amount:sum", "{{stage}}"),
                ),
                MONEY,
            ),
            _panel(
                "open_deals_by_stage",
                "Open deals, by stage",
                "Count of open deals by stage, summed over workers.",
                (read("job_stage:salespulse_open_deals:sum", "{{stage}}"),),
                "short",
            ),
            _panel(
                "pipeline_by_team",
                "Weighted pipeline, by team",
                "Weighted amount of the open deals of each team's reps.",
                (read(f"job_team:{weighted}:sum", "{{team}}"),),
                MONEY,
            ),
            _panel(
                "pipeline_by_rep",
                "Weighted pipeline, top reps",
                "The fifteen reps with the largest weighted open pipeline.",
                (
                    Query(
                        f'topk(15, job_team_rep:{weighted}:sum{{job=~"$job"}})',
                        "{{rep}} ({{team}})",
                    ),
                ),
                MONEY,
            ),
            _panel(
                "coverage_by_team",
                "Pipeline coverage of the remaining target, by team",
                "Weighted pipeline closing this month over the team's target "
                "still to win (job_window_team:salespulse_pipeline_coverage:ratio);"
                " a team that has met its target has no bar.",
                (
                    month(
                        "job_window_team:salespulse_pipeline_coverage:ratio", "{{team}}"
                    ),
                ),
                "x",
                thresholds=(
                    Threshold(None, "red"),
                    Threshold(settings.coverage_ratio, "green"),
                ),
            ),
            _panel(
                "forecast_by_team",
                "Forecast vs target, by team",
                "(Team revenue to date + weighted pipeline closing this month) "
                "/ team target (job_window_team:salespulse_forecast_attainment:ratio).",
                (
                    month(
                        "job_window_team:salespulse_forecast_attainment:ratio",
                        "{{team}}",
                    ),
                ),
                "percentunit",
                thresholds=attainment_steps(settings.quota_attainment),
            ),
            _panel(
                "pipeline_trend",
                "Weighted pipeline over time",
                "Company weighted pipeline and the part closing this month and "
                "this quarter, over the dashboard's time range.",
                (
                    read(f"job:{weighted}:sum", "open"),
                    month(
                        "job_window:salespulse_pipeline_closing_weighted_amount:sum",
                        "closing this month",
                    ),
                    read(
                        "job_window:salespulse_pipeline_closing_weighted_amount:sum",
                        "closing this quarter",
                        window="quarter_to_date",
                    ),
                ),
                MONEY,
                display=Display.TIMESERIES,
                width=24,
            ),
        ),
    )


def reps_board(settings: RuleSettings) -> Board:
    """Return the reps dashboard: revenue, attainment, activity, outcomes."""
    rep = "job_window_team_region_rep"
    return Board(
        uid="salespulse-reps",
        title="SalesPulse / Reps and teams",
        description="Reps' and teams' revenue against target, their activity "
        "and the outcomes it leads to.",
        entries=(
            _panel(
                "rep_attainment",
                "Attainment this month, by rep",
                "A rep's revenue to date over the rep's monthly target "
                f"({rep}:salespulse_attainment:ratio), from summed revenue.",
                (month(f"{rep}:salespulse_attainment:ratio", "{{rep}} ({{team}})"),),
                "percentunit",
                thresholds=attainment_steps(settings.quota_attainment),
            ),
            _panel(
                "rep_projected",
                "Projected attainment, by rep",
                "Revenue to date / elapsed share / target, by rep.",
                (month(f"{rep}:salespulse_projected_attainment:ratio", "{{rep}}"),),
                "percentunit",
                thresholds=attainment_steps(settings.quota_attainment),
            ),
            _panel(
                "team_revenue_per_rep",
                "Sales per rep, by team",
                "Team revenue this month over the reps the directory puts in "
                "the team (job_window_team:salespulse_sales_per_rep:ratio).",
                (month("job_window_team:salespulse_sales_per_rep:ratio", "{{team}}"),),
                MONEY,
            ),
            _panel(
                "team_margin",
                "Margin, by team",
                "(Revenue - cost) / revenue of the team's won deals this month "
                "(job_window_team:salespulse_won_margin:ratio).",
                (month("job_window_team:salespulse_won_margin:ratio", "{{team}}"),),
                "percentunit",
            ),
            _panel(
                "rep_quote_to_close",
                "Quote-to-close, by rep",
                "Deals won over distinct quotes sent this month, by rep.",
                (month(f"{rep}:salespulse_quote_to_close:ratio", "{{rep}}"),),
                "percentunit",
            ),
            _panel(
                "rep_demo_win",
                "Demo win share, by rep",
                "Demos this month whose deal was won over the rep's demos "
                '(salespulse_demos_won / salespulse_activities{kind="demo"}).',
                (month(f"{rep}:salespulse_demo_win:ratio", "{{rep}}"),),
                "percentunit",
            ),
            _panel(
                "activities_by_kind",
                "Activities today and this week, by kind",
                "Activities logged, summed over reps and workers, by kind.",
                (
                    read(
                        "job_window_kind:salespulse_activities:sum",
                        "{{kind}} today",
                        window="today",
                    ),
                    read(
                        "job_window_kind:salespulse_activities:sum",
                        "{{kind}} week",
                        window="week_to_date",
                    ),
                ),
                "short",
            ),
            _panel(
                "activity_outcomes",
                "Outcome rates, by kind",
                "Share of each kind's activities this month that had each "
                "outcome: outcomes / all outcomes of the kind.",
                (
                    month(
                        "job_window_kind_outcome:salespulse_activity_outcome:ratio",
                        "{{kind}}: {{outcome}}",
                    ),
                ),
                "percentunit",
            ),
        ),
    )


def products_board() -> Board:
    """Return the products and channels dashboard."""
    product = "job_window_product"
    channel = "job_window_channel"
    return Board(
        uid="salespulse-products",
        title="SalesPulse / Products and channels",
        description="What sells, through which contact method, at what size, "
        "margin and speed.",
        entries=(
            _panel(
                "product_revenue",
                "Revenue this month, by product",
                "Revenue of won deals by product, summed over workers.",
                (
                    month(
                        f"{product}:salespulse_product_won_revenue:sum", "{{product}}"
                    ),
                ),
                MONEY,
            ),
            _panel(
                "product_margin",
                "Margin, by product",
                "(Revenue - cost) / revenue of each product's won deals.",
                (month(f"{product}:salespulse_product_margin:ratio", "{{product}}"),),
                "percentunit",
            ),
            _panel(
                "channel_share",
                "Revenue share, by contact method",
                "A channel's revenue over the total revenue this month.",
                (
                    month(
                        f"{channel}:salespulse_channel_revenue_share:ratio",
                        "{{channel}}",
                    ),
                ),
                "percentunit",
            ),
            _panel(
                "channel_deals",
                "Deals won, by contact method",
                "Won deals this month by the channel the deal started from.",
                (month(f"{channel}:salespulse_channel_won_deals:sum", "{{channel}}"),),
                "short",
            ),
            _panel(
                "deal_value",
                "Average deal value and new deal size",
                "Revenue / won deals; revenue / distinct accounts with a win; "
                "new-business revenue / new-business deals won (this month).",
                (
                    month("job_window:salespulse_average_deal_value:ratio", "per deal"),
                    month(
                        "job_window:salespulse_revenue_per_account:ratio", "per account"
                    ),
                    month("job_window:salespulse_new_deal_size:ratio", "new deal"),
                ),
                MONEY,
                display=Display.STAT,
            ),
            _panel(
                "deal_speed",
                "New deal duration and sales cycle (days)",
                "Σ (won - created) / timed new deals, and Σ (won - first "
                "interaction) / timed won deals, this month, in days.",
                (
                    month("job_window:salespulse_new_deal_duration:days", "new deal"),
                    month("job_window:salespulse_sales_cycle:days", "cycle"),
                ),
                "d",
                display=Display.STAT,
            ),
            _panel(
                "growth",
                "Growth over the previous period and last year",
                "Revenue of the month, quarter and year to date against the "
                "whole previous period and the same period last year.",
                (
                    read(
                        "job_window:salespulse_won_revenue:growth_previous_period",
                        "{{window}} vs previous",
                    ),
                    read(
                        "job_window:salespulse_won_revenue:growth_last_year",
                        "{{window}} vs last year",
                    ),
                ),
                "percentunit",
                display=Display.TIMESERIES,
                width=24,
            ),
        ),
    )


def saas_board() -> Board:
    """Return the SaaS revenue dashboard: MRR, churn, retention, LTV, CAC."""
    company = "job_window"
    return Board(
        uid="salespulse-saas",
        title="SalesPulse / SaaS revenue",
        description="MRR and its movements, churn and retention, and the unit "
        "economics of an account.",
        entries=(
            _panel(
                "mrr",
                "MRR",
                "MRR summed over accounts at the end and at the start of the "
                "month (salespulse_mrr{at}).",
                (
                    month(f"{company}:salespulse_mrr_end:sum", "now"),
                    month(f"{company}:salespulse_mrr_start:sum", "start of month"),
                ),
                MONEY,
                display=Display.STAT,
                width=8,
            ),
            _panel(
                "retention",
                "Retention and NRR this month",
                "Retention: (paying at the end - gained) / paying at the start. "
                "NRR: (MRR at the start + expansion - contraction - churned) / "
                "MRR at the start; it counts the movements of accounts gained "
                "in the month too (an approximation).",
                (
                    month(f"{company}:salespulse_retention:ratio", "retention"),
                    month(f"{company}:salespulse_net_revenue_retention:ratio", "NRR"),
                ),
                "percentunit",
                display=Display.STAT,
                width=8,
            ),
            _panel(
                "unit_economics",
                "LTV, CAC, LTV:CAC, payback",
                "LTV = ARPA * gross margin / last month's logo churn (capped by "
                "ltv_cap_months); CAC = (sales + marketing cost) / accounts "
                "gained last month; payback = CAC / (ARPA * margin), months.",
                (
                    read("job:salespulse_lifetime_value:ratio", "LTV"),
                    read(
                        f"{company}:salespulse_cac:ratio",
                        "CAC",
                        window="previous_month",
                    ),
                    read("job:salespulse_ltv_to_cac:ratio", "LTV:CAC"),
                    read(
                        f"{company}:salespulse_cac_payback_months:ratio",
                        "payback (months)",
                        window="previous_month",
                    ),
                ),
                "short",
                display=Display.STAT,
                width=8,
            ),
            _panel(
                "mrr_movements",
                "MRR movements this month",
                "New, expansion, reactivated, contraction and churned MRR "
                "(each a positive amount), summed over workers.",
                (
                    month(
                        "job_window_movement:salespulse_mrr_movement:sum",
                        "{{movement}}",
                    ),
                ),
                MONEY,
            ),
            _panel(
                "churn_trend",
                "Logo and revenue churn",
                "Accounts lost / paying at the start; (churned + contraction "
                "MRR) / MRR at the start; this month to date and last month.",
                (
                    month(f"{company}:salespulse_logo_churn:ratio", "logo, this month"),
                    month(
                        f"{company}:salespulse_revenue_churn:ratio",
                        "revenue, this month",
                    ),
                    read(
                        f"{company}:salespulse_logo_churn:ratio",
                        "logo, last month",
                        window="previous_month",
                    ),
                ),
                "percentunit",
                display=Display.TIMESERIES,
            ),
            _panel(
                "net_new_mrr",
                "Net new MRR and ARPA",
                "Net new MRR this month (new + expansion + reactivated - "
                "contraction - churned) and ARPA (MRR / paying accounts).",
                (
                    month(f"{company}:salespulse_net_new_mrr:sum", "net new MRR"),
                    month(f"{company}:salespulse_arpa:ratio", "ARPA"),
                ),
                MONEY,
                display=Display.TIMESERIES,
                width=24,
            ),
        ),
    )


def marketing_board() -> Board:
    """Return the marketing dashboard: leads, cost per lead, conversion."""
    channel = "job_window_channel"
    return Board(
        uid="salespulse-marketing",
        title="SalesPulse / Marketing",
        description="Leads by channel and campaign, what they cost, how many "
        "end in a sale and how fast they convert.",
        entries=(
            Entry(
                key="leads_by_channel",
                title="Leads created this month, by channel",
                description="Leads created, summed over workers, by channel.",
                queries=(
                    month(f"{channel}:salespulse_leads_created:sum", "{{channel}}"),
                ),
                unit="short",
                display=Display.BAR_GAUGE,
                width=_WIDE,
                height=_TALL,
                minimum=0,
                metrics=(kpi("leads_created"), kpi("marketing_cost")),
            ),
            _panel(
                "lead_to_sale",
                "Lead-to-sale, by channel",
                "Leads whose deal was won / leads created, this month.",
                (month(f"{channel}:salespulse_lead_to_sale:ratio", "{{channel}}"),),
                "percentunit",
            ),
            _panel(
                "cost_per_lead_channel",
                "Cost per lead, by channel",
                "Marketing cost of the channel's campaigns (through "
                "salespulse_campaign_info) / leads created with the channel.",
                (month(f"{channel}:salespulse_cost_per_lead:ratio", "{{channel}}"),),
                MONEY,
            ),
            _panel(
                "cost_per_lead_campaign",
                "Cost per lead, by campaign",
                "A campaign's marketing cost / the leads it created, this month.",
                (
                    month(
                        "job_window_campaign:salespulse_cost_per_lead:ratio",
                        "{{campaign}}",
                    ),
                ),
                MONEY,
            ),
            _panel(
                "time_to_conversion",
                "Time to conversion, by channel (days)",
                "Σ (converted - created) / converted leads whose creation is "
                "known, this month, in days.",
                (month(f"{channel}:salespulse_lead_conversion:days", "{{channel}}"),),
                "d",
            ),
            _panel(
                "lead_trend",
                "Leads, conversions and wins over time",
                "Leads created, converted and won this month to date, company-wide.",
                (
                    month("job_window:salespulse_leads_created:sum", "created"),
                    month("job_window:salespulse_leads_converted:sum", "converted"),
                    month("job_window:salespulse_leads_won:sum", "won"),
                ),
                "short",
                display=Display.TIMESERIES,
            ),
        ),
    )
