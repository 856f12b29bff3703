"""The subscription and marketing KPIs: MRR, churn, retention, LTV, CAC, leads.

Balances (``mrr``, ``paying_accounts``) are recorded at the start and at the
end of each window; flows by window. Lifetime value and LTV:CAC are taken
"now": ARPA at the end of the month to date, churn and CAC of the previous
(complete) month.
"""

from __future__ import annotations

from dashboards.deals import CHANNEL
from dashboards.metrics import kpi
from dashboards.model import Alert, Kpi, RecordingRule, RuleSettings, Severity
from dashboards.promql import on, ratio_rule, record_name, sum_rule
from dashboards.sales import COMPANY, ELAPSED

RULE_FILE = "salespulse-saas"
MOVEMENT = ("job", "window", "movement")
CAMPAIGN = ("job", "window", "campaign")
JOB = ("job",)


def _sum(level: tuple[str, ...], measure: str) -> str:
    return record_name(level, f"salespulse_{measure}", "sum")


def _ratio(level: tuple[str, ...], name: str) -> str:
    return record_name(level, f"salespulse_{name}", "ratio")


def _balance(measure: str, at: str) -> RecordingRule:
    metric = f"salespulse_{measure}"
    return RecordingRule(
        record=_sum(COMPANY, f"{measure}_{at}"),
        expr=f'sum by (job, window) ({metric}{{at="{at}"}})',
        meaning=f"`{metric}` at the {at} of each window, added up over workers.",
    )


def _movements(names: str, sign: str = "") -> str:
    return f'{sign}{_sum(MOVEMENT, "mrr_movement")}{{movement=~"{names}"}}'


def mrr() -> Kpi:
    """Return MRR, its movements and net new MRR."""
    net_new = (
        f"sum by (job, window) (\n  {_movements('new|expansion|reactivated')}\n"
        f"  or\n  {_movements('contraction|churned', '-1 * ')}\n)"
    )
    return Kpi(
        key="mrr",
        title="MRR and its movements",
        rule_file=RULE_FILE,
        metrics=(kpi("mrr"), kpi("mrr_movement")),
        recording_rules=(
            _balance("mrr", "start"),
            _balance("mrr", "end"),
            sum_rule(MOVEMENT, "mrr_movement"),
            RecordingRule(
                record=record_name(COMPANY, "salespulse_net_new_mrr", "sum"),
                expr=net_new,
                meaning="Net new MRR: new + expansion + reactivated - "
                "contraction - churned.",
            ),
        ),
    )


def _zero_filled(measure: str) -> str:
    return f"({_sum(COMPANY, measure)} or 0 * {_sum(COMPANY, 'paying_accounts_start')})"


def churn(settings: RuleSettings) -> Kpi:
    """Return logo and revenue churn, retention and net revenue retention."""
    start = _sum(COMPANY, "paying_accounts_start")
    mrr_start = _sum(COMPANY, "mrr_start")
    lost = _zero_filled("accounts_lost")
    shrink = (
        f"(sum by (job, window) ({_movements('contraction|churned')})\n"
        f" or 0 * {mrr_start})"
    )
    kept = (
        f"sum by (job, window) (\n  {mrr_start}\n"
        f"  or {_movements('expansion')}\n"
        f"  or {_movements('contraction|churned', '-1 * ')}\n)"
    )
    return Kpi(
        key="churn",
        title="Churn and retention",
        rule_file=RULE_FILE,
        metrics=(
            kpi("paying_accounts"),
            kpi("accounts_lost"),
            kpi("accounts_gained"),
            kpi("accounts_new"),
        ),
        recording_rules=(
            _balance("paying_accounts", "start"),
            _balance("paying_accounts", "end"),
            *(
                sum_rule(COMPANY, measure)
                for measure in ("accounts_lost", "accounts_gained", "accounts_new")
            ),
            ratio_rule(
                COMPANY,
                "logo_churn",
                lost,
                start,
                "Accounts lost over the accounts paying at the window's start.",
            ),
            ratio_rule(
                COMPANY,
                "retention",
                f"({_sum(COMPANY, 'paying_accounts_end')} - "
                f"{_zero_filled('accounts_gained')})",
                start,
                "(Accounts paying at the end - accounts gained) / accounts "
                "paying at the start.",
            ),
            ratio_rule(
                COMPANY,
                "revenue_churn",
                shrink,
                mrr_start,
                "(Churned + contraction MRR) / MRR at the window's start.",
            ),
            ratio_rule(
                COMPANY,
                "net_revenue_retention",
                kept,
                mrr_start,
                "(MRR at the start + expansion - contraction - churned) / MRR at "
                "the start. Approximation: the movements of accounts that "
                "started paying within the window count too, since movements "
                "are not kept by the account's state at the start.",
            ),
        ),
        alerts=(_churn_high(settings),),
    )


def _churn_high(settings: RuleSettings) -> Alert:
    churn_now = f'{_ratio(COMPANY, "logo_churn")}{{window="month_to_date"}}'
    usual = f'{_ratio(COMPANY, "logo_churn")}{{window="previous_month"}}'
    projected = (
        f"({churn_now}\n / {on(COMPANY)}\n ({ELAPSED} > {settings.quota_elapsed}))"
    )
    usual_level = (
        f'label_replace(avg_over_time({usual}[30d]), "window", "month_to_date", "", "")'
    )
    return Alert(
        name="SalesPulseChurnHigh",
        expr=f"{churn_now} > {settings.churn_ratio}\nor\n"
        f"{projected}\n> {settings.churn_factor:g} * ({usual_level} > 0)",
        duration=settings.churn_for,
        severity=Severity.WARNING,
        summary="SalesPulse job {{ $labels.job }}: logo churn at "
        "{{ $value | humanizePercentage }} this month.",
        description="Logo churn of the month (to date, or projected to the "
        "month's end) is {{ $value | humanizePercentage }}: above "
        f"{settings.churn_ratio * 100:g}% to date, or more than "
        f"{settings.churn_factor:g} times the previous month's churn averaged "
        "over 30 days.",
        labels=(("scope", "company"),),
    )


def unit_economics() -> Kpi:
    """Return ARPA, lifetime value, CAC, LTV:CAC and CAC payback."""
    arpa = _ratio(COMPANY, "arpa")
    margin = "job:salespulse_gross_margin_ratio:max"
    cap = "job:salespulse_ltv_cap_months:max"
    churn_prev = (
        f'max by (job) ({_ratio(COMPANY, "logo_churn")}{{window="previous_month"}})'
    )
    lifetime = "job:salespulse_customer_lifetime:months"
    cost = _sum(COMPANY, "acquisition_cost")
    cac = _ratio(COMPANY, "cac")
    ltv = "job:salespulse_lifetime_value:ratio"
    return Kpi(
        key="unit_economics",
        title="ARPA, LTV, CAC",
        rule_file=RULE_FILE,
        metrics=(
            kpi("gross_margin_ratio"),
            kpi("ltv_cap_months"),
            kpi("sales_cost"),
            kpi("marketing_cost"),
        ),
        recording_rules=(
            ratio_rule(
                COMPANY,
                "arpa",
                _sum(COMPANY, "mrr_end"),
                _sum(COMPANY, "paying_accounts_end"),
                "Average revenue per account: MRR / accounts paying, at the end.",
            ),
            RecordingRule(
                record=margin,
                expr='max by (job) (salespulse_gross_margin_ratio{product="all"})',
                meaning="The company-wide gross margin.",
            ),
            RecordingRule(
                record=cap,
                expr="max by (job) (salespulse_ltv_cap_months)",
                meaning="The lifetime, in months, assumed when churn is zero.",
            ),
            RecordingRule(
                record=lifetime,
                expr=f"min by (job) (\n  label_replace(1 / ({churn_prev} > 0), "
                f'"bound", "churn", "", "")\n  or\n  label_replace({cap}, '
                f'"bound", "cap", "", "")\n)\nand on (job)\n{churn_prev}',
                meaning="Customer lifetime in months: 1 / the previous month's "
                "logo churn, capped by ltv_cap_months (zero churn gives the "
                "cap); none without paying accounts at that month's start.",
            ),
            RecordingRule(
                record=ltv,
                expr=f'max by (job) ({arpa}{{window="month_to_date"}})\n'
                f"* on (job) {margin}\n* on (job) {lifetime}",
                meaning="Lifetime value: ARPA now * gross margin * lifetime.",
            ),
            RecordingRule(
                record=cost,
                expr="sum by (job, window) "
                "(salespulse_sales_cost or salespulse_marketing_cost)",
                meaning="Sales and marketing costs of the window.",
            ),
            ratio_rule(
                COMPANY,
                "cac",
                cost,
                _sum(COMPANY, "accounts_gained"),
                "Acquisition cost: (sales + marketing cost) / accounts gained.",
            ),
            ratio_rule(
                JOB,
                "ltv_to_cac",
                ltv,
                f'{cac}{{window="previous_month"}}',
                "Lifetime value over the previous month's CAC.",
                matching=on(JOB),
            ),
            ratio_rule(
                COMPANY,
                "cac_payback_months",
                cac,
                f"{arpa} * {on(JOB)} group_left () {margin}",
                "Months of gross margin per account that pay back its CAC: "
                "CAC / (ARPA * gross margin).",
            ),
        ),
    )


def marketing() -> Kpi:
    """Return leads, lead-to-sale, cost per lead and time to conversion."""
    leads = ("leads_created", "leads_converted", "leads_won")
    timing = ("lead_conversion_seconds", "leads_converted_timed")
    levels = (COMPANY, CHANNEL, CAMPAIGN)
    channel_cost = _sum(CHANNEL, "marketing_cost")
    return Kpi(
        key="marketing",
        title="Leads and marketing cost",
        rule_file=RULE_FILE,
        metrics=(
            *(kpi(measure) for measure in (*leads, *timing)),
            kpi("campaign_info"),
        ),
        recording_rules=(
            *(
                sum_rule(level, measure)
                for measure in (*leads, *timing)
                for level in levels
            ),
            sum_rule(CAMPAIGN, "marketing_cost"),
            RecordingRule(
                record=channel_cost,
                expr=f"sum by (job, window, channel) (\n"
                f"  {_sum(CAMPAIGN, 'marketing_cost')}\n"
                "  * on (job, campaign) group_left (channel)\n"
                "  max by (job, campaign, channel) (salespulse_campaign_info)\n)",
                meaning="Marketing cost of each channel, through the channel "
                "the campaign directory gives each campaign.",
            ),
            *(
                ratio_rule(
                    level,
                    "lead_to_sale",
                    _sum(level, "leads_won"),
                    _sum(level, "leads_created"),
                    "Leads whose deal was won over leads created.",
                )
                for level in levels
            ),
            ratio_rule(
                CAMPAIGN,
                "cost_per_lead",
                _sum(CAMPAIGN, "marketing_cost"),
                _sum(CAMPAIGN, "leads_created"),
                "A campaign's marketing cost over the leads it created.",
            ),
            ratio_rule(
                CHANNEL,
                "cost_per_lead",
                channel_cost,
                _sum(CHANNEL, "leads_created"),
                "A channel's marketing cost over the leads created with it.",
            ),
            *(
                RecordingRule(
                    record=record_name(level, "salespulse_lead_conversion", "days"),
                    expr=f"{_sum(level, 'lead_conversion_seconds')}\n/\n"
                    f"({_sum(level, 'leads_converted_timed')} > 0)\n/ 86400",
                    meaning="Average time from lead to conversion, in days.",
                )
                for level in (COMPANY, CHANNEL)
            ),
        ),
    )
