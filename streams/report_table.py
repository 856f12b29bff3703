"""Plain-text tables of KPI reports, for people reading a replay's output.

Money is shown to the cent with thousands separators, ratios as percentages
with one decimal, durations in days with one decimal, counts whole; a KPI
with no value shows ``-``. The tables round for reading only: the exact
values are in the reports and in the exposition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from kpis.report import LeadKpis, WindowReport

Cell = Decimal | int | None
Formatter = Callable[[Cell], str]


def money(value: Cell) -> str:
    """Return an amount to the cent, or ``-``."""
    return "-" if value is None else f"{Decimal(value):,.2f}"


def share(value: Cell) -> str:
    """Return a ratio as a percentage, or ``-``."""
    return "-" if value is None else f"{Decimal(value) * 100:,.1f}%"


def count(value: Cell) -> str:
    """Return a count, or ``-``."""
    return "-" if value is None else f"{Decimal(value):,.0f}"


def number(value: Cell) -> str:
    """Return a number with one decimal (days, months, ratios like LTV:CAC)."""
    return "-" if value is None else f"{Decimal(value):,.1f}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a titled table, the first column left-aligned, the others right."""
    widths = [len(text) for text in header]
    for row in rows:
        widths = [
            max(width, len(text)) for width, text in zip(widths, row, strict=True)
        ]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [
            text.rjust(width) for text, width in zip(cells[1:], widths[1:], strict=True)
        ]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    body = [line(header), rule, *(line(row) for row in rows)]
    return f"{title}\n" + "".join(f"{text}\n" for text in body) + "\n"


_COMPANY_ROWS: tuple[tuple[str, Formatter, Callable[[WindowReport], Cell]], ...] = (
    ("revenue (gross bookings)", money, lambda r: r.company.sales.revenue),
    ("cost of won deals", money, lambda r: r.company.sales.cost),
    ("net bookings", money, lambda r: r.company.sales.net_bookings),
    ("won deals", count, lambda r: r.company.sales.won_deals),
    ("average profit margin", share, lambda r: r.company.sales.profit_margin),
    ("average deal value", money, lambda r: r.company.sales.average_deal_value),
    ("average cost per deal", money, lambda r: r.company.sales.average_cost_per_deal),
    ("growth vs previous period", share, lambda r: r.company.growth_vs_previous),
    ("growth vs last year", share, lambda r: r.company.growth_vs_last_year),
    ("target", money, lambda r: r.company.goal.target),
    ("attainment", share, lambda r: r.company.goal.attainment),
    ("projected revenue", money, lambda r: r.company.goal.projected_revenue),
    ("projected attainment", share, lambda r: r.company.goal.projected_attainment),
    ("forecast", money, lambda r: r.company.goal.forecast),
    ("forecast vs target", share, lambda r: r.company.goal.forecast_attainment),
    ("quotes sent", count, lambda r: r.company.quotes_sent),
    ("quote-to-close", share, lambda r: r.company.quote_to_close),
    ("distinct accounts won", count, lambda r: r.company.paying_accounts_won),
    ("revenue per account won", money, lambda r: r.company.revenue_per_account),
    ("new deals won", count, lambda r: r.company.new_business.won_deals),
    ("average new deal size", money, lambda r: r.company.new_business.average_size),
    (
        "average new deal duration (days)",
        number,
        lambda r: r.company.new_business.average_duration_days,
    ),
    ("average sales cycle (days)", number, lambda r: r.company.sales_cycle_days),
    ("leads created", count, lambda r: r.company.leads.leads_created),
    ("leads won", count, lambda r: r.company.leads.leads_won),
    ("lead-to-sale conversion", share, lambda r: r.company.leads.lead_to_sale),
    (
        "average time to conversion (days)",
        number,
        lambda r: r.company.leads.average_conversion_days,
    ),
    ("marketing cost", money, lambda r: r.company.leads.marketing_cost),
    ("cost per lead", money, lambda r: r.company.leads.cost_per_lead),
    ("weighted pipeline (now)", money, lambda r: r.company.weighted_pipeline),
    ("unweighted pipeline (now)", money, lambda r: r.company.pipeline),
    ("demos", count, lambda r: r.company.demos),
    ("onboarding calls", count, lambda r: r.company.onboarding_calls),
    ("demos whose deal was won", share, lambda r: r.company.demo_win_share),
    ("MRR at start", money, lambda r: r.company.subscriptions.mrr_start),
    ("MRR at end", money, lambda r: r.company.subscriptions.mrr),
    *(
        (
            f"{name} MRR",
            money,
            lambda r, index=index: r.company.subscriptions.movements[index][1],
        )
        for index, name in enumerate(
            ("new", "expansion", "contraction", "churned", "reactivated")
        )
    ),
    ("net new MRR", money, lambda r: r.company.subscriptions.net_new_mrr),
    ("paying accounts at start", count, lambda r: r.company.subscriptions.paying_start),
    ("paying accounts at end", count, lambda r: r.company.subscriptions.paying_end),
    ("accounts gained", count, lambda r: r.company.subscriptions.accounts_gained),
    ("accounts lost", count, lambda r: r.company.subscriptions.accounts_lost),
    ("logo churn", share, lambda r: r.company.subscriptions.churn),
    ("retention", share, lambda r: r.company.subscriptions.retention),
    ("revenue churn", share, lambda r: r.company.subscriptions.revenue_churn),
    ("ARPA", money, lambda r: r.company.subscriptions.arpa),
    ("monthly churn (LTV)", share, lambda r: r.company.subscriptions.monthly_churn),
    (
        "customer lifetime value",
        money,
        lambda r: r.company.subscriptions.lifetime_value,
    ),
    (
        "acquisition cost (CAC)",
        money,
        lambda r: r.company.subscriptions.acquisition_cost,
    ),
    ("LTV:CAC", number, lambda r: r.company.subscriptions.ltv_to_cac),
    (
        "CAC payback (months)",
        number,
        lambda r: r.company.subscriptions.cac_payback_months,
    ),
)


def company_table(reports: Sequence[WindowReport]) -> str:
    """Return the company-wide KPIs, one column per window."""
    header = ["KPI", *(f"{r.window.value} ({r.period})" for r in reports)]
    rows = [
        [name, *(formatter(value(report)) for report in reports)]
        for name, formatter, value in _COMPANY_ROWS
    ]
    return table("Company", header, rows)


def breakdown_tables(report: WindowReport) -> str:
    """Return the KPIs of ``report`` by rep, team, region, product, ..."""
    label = f"{report.window.value} ({report.period})"
    parts = [
        table(
            f"Reps, {label}",
            [
                "rep",
                "team",
                "revenue",
                "margin",
                "deals",
                "quote-close",
                "attainment",
                "forecast",
                "cycle d",
                "demo won",
            ],
            [
                [
                    r.rep,
                    r.team,
                    money(r.sales.revenue),
                    share(r.sales.profit_margin),
                    count(r.sales.won_deals),
                    share(r.quote_to_close),
                    share(r.goal.attainment),
                    money(r.goal.forecast),
                    number(r.sales_cycle_days),
                    share(r.demo_win_share),
                ]
                for r in report.reps
            ],
        ),
        table(
            f"Teams, {label}",
            [
                "team",
                "revenue",
                "margin",
                "reps",
                "per rep",
                "attainment",
                "projected",
                "forecast",
                "sales cost",
            ],
            [
                [
                    t.team,
                    money(t.sales.revenue),
                    share(t.sales.profit_margin),
                    count(t.reps),
                    money(t.revenue_per_rep),
                    share(t.goal.attainment),
                    share(t.goal.projected_attainment),
                    money(t.goal.forecast),
                    money(t.sales_cost),
                ]
                for t in report.teams
            ],
        ),
    ]
    for title, slices in (
        ("Regions", report.regions),
        ("Products", report.products),
        ("Channels (won deals)", report.channels),
    ):
        parts.append(
            table(
                f"{title}, {label}",
                ["key", "revenue", "share", "margin", "deals", "avg deal"],
                [
                    [
                        s.key,
                        money(s.sales.revenue),
                        share(s.sales.share_of_revenue),
                        share(s.sales.profit_margin),
                        count(s.sales.won_deals),
                        money(s.sales.average_deal_value),
                    ]
                    for s in slices
                ],
            )
        )
    parts.append(_lead_table(f"Campaigns, {label}", report.campaigns))
    parts.append(_lead_table(f"Lead channels, {label}", report.lead_channels))
    parts.append(
        table(
            "Open pipeline by stage (now)",
            ["stage", "amount", "weighted", "deals"],
            [
                [p.key, money(p.amount), money(p.weighted_amount), count(p.open_deals)]
                for p in report.stages
            ],
        )
    )
    parts.append(
        table(
            f"Activities, {label}",
            ["kind", "count", *(name for name, _ in _outcomes(report))],
            [
                [a.kind, count(a.count), *(share(v) for _, v in a.outcome_shares)]
                for a in report.activities
            ],
        )
    )
    return "".join(parts)


def _outcomes(report: WindowReport) -> tuple[tuple[str, Cell], ...]:
    if not report.activities:
        return ()
    return report.activities[0].outcome_shares


def _lead_table(title: str, rows: Sequence[LeadKpis]) -> str:
    return table(
        title,
        ["key", "leads", "converted", "won", "lead-sale", "conv d", "cost", "per lead"],
        [
            [
                lead.key,
                count(lead.leads_created),
                count(lead.leads_converted),
                count(lead.leads_won),
                share(lead.lead_to_sale),
                number(lead.average_conversion_days),
                money(lead.marketing_cost),
                money(lead.cost_per_lead),
            ]
            for lead in rows
        ],
    )


def render_reports(reports: Sequence[WindowReport]) -> str:
    """Return the company table of every report and the breakdowns of each."""
    if not reports:
        return ""
    return company_table(reports) + "".join(breakdown_tables(r) for r in reports)
