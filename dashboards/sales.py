"""The sales KPIs: revenue against target, forecast, growth, deals, pipeline.

Levels of the rules: ``job_window`` (the company), ``job_window_team``,
``job_window_team_region_rep`` (a rep, with the team and region the rep
directory gives), ``job_window_region``. The reporting currency is one per
deployment, so the ``currency`` label is dropped by the sums.
"""

from __future__ import annotations

from dashboards.metrics import kpi
from dashboards.model import Alert, Kpi, RecordingRule, RuleSettings, Severity
from dashboards.promql import on, ratio_rule, record_name, sum_rule

RULE_FILE = "salespulse-sales"

Level = tuple[str, ...]
"""The labels a rule keeps, ``job`` first; they name the rule's level."""

COMPANY: Level = ("job", "window")
TEAM: Level = ("job", "window", "team")
REP: Level = ("job", "window", "team", "region", "rep")
REGION: Level = ("job", "window", "region")
REP_KEY: Level = ("job", "window", "team", "rep")
"""How a rep's series meet its target, which carries no region."""

TARGET: dict[Level, str] = {
    COMPANY: record_name(COMPANY, "salespulse_target_amount", "max"),
    TEAM: record_name(TEAM, "salespulse_target_amount", "max"),
    REP: record_name(REP_KEY, "salespulse_target_amount", "max"),
}
ELAPSED = record_name(COMPANY, "salespulse_window_elapsed_ratio", "max")
REVENUE: dict[Level, str] = {
    level: record_name(level, "salespulse_won_revenue", "sum")
    for level in (COMPANY, TEAM, REP, REGION)
}
CLOSING: dict[Level, str] = {
    level: record_name(level, "salespulse_pipeline_closing_weighted_amount", "sum")
    for level in (COMPANY, TEAM)
}
ATTAINMENT: dict[Level, str] = {
    level: record_name(level, "salespulse_attainment", "ratio")
    for level in (COMPANY, TEAM, REP)
}
PROJECTED_ATTAINMENT: dict[Level, str] = {
    level: record_name(level, "salespulse_projected_attainment", "ratio")
    for level in (COMPANY, TEAM, REP)
}
COVERAGE: dict[Level, str] = {
    level: record_name(level, "salespulse_pipeline_coverage", "ratio")
    for level in (COMPANY, TEAM)
}
TO_DATE_PERIODS = "month_to_date|quarter_to_date"
"""The windows whose remaining target the pipeline coverage is taken of."""


def _match(level: tuple[str, ...]) -> str:
    """Return how a series of ``level`` meets one of the company level."""
    return "" if level == COMPANY else f"{on(COMPANY)} group_left ()"


def _target_match(level: tuple[str, ...]) -> str:
    """Return how a series of ``level`` meets its target."""
    return f"{on(REP_KEY)} group_left ()" if level == REP else ""


def _reference_rules() -> tuple[RecordingRule, ...]:
    targets = (
        (COMPANY, "company"),
        (TEAM, "team"),
        (REP_KEY, "rep"),
    )
    rules = [
        RecordingRule(
            record=record_name(labels, "salespulse_target_amount", "max"),
            expr=f"max by ({', '.join(labels)}) "
            f'(salespulse_target_amount{{scope="{scope}"}})',
            meaning=f"The {scope} targets of each window; every worker exports "
            "the same, so they are taken once (max), never added.",
        )
        for labels, scope in targets
    ]
    rules.append(
        RecordingRule(
            record=ELAPSED,
            expr="max by (job, window) (salespulse_window_elapsed_ratio)",
            meaning="Share of each to-date window's period elapsed.",
        )
    )
    return tuple(rules)


def _revenue_rules() -> tuple[RecordingRule, ...]:
    # A team or rep that has won nothing yet has a target but no revenue
    # series: a zero in its place lets attainment, and the quota alert, see it.
    return (
        sum_rule(COMPANY, "won_revenue", f"\n0 * {TARGET[COMPANY]}"),
        sum_rule(TEAM, "won_revenue", f"\n0 * {TARGET[TEAM]}"),
        sum_rule(REP, "won_revenue", f" {on(REP_KEY)}\n0 * {TARGET[REP]}"),
        sum_rule(REGION, "won_revenue"),
    )


def _attainment_rules(level: tuple[str, ...]) -> tuple[RecordingRule, ...]:
    projected = record_name(level, "salespulse_won_revenue", "projected")
    return (
        ratio_rule(
            level,
            "attainment",
            REVENUE[level],
            TARGET[level],
            "Revenue won in the window over the target of its period.",
            matching=_target_match(level),
        ),
        RecordingRule(
            record=projected,
            expr=f"{REVENUE[level]}\n/ {_match(level)}\n({ELAPSED} > 0)".replace(
                "/ \n", "/\n"
            ),
            meaning="Revenue the period will reach at the pace so far: revenue "
            "to date over the elapsed share of the period.",
        ),
        ratio_rule(
            level,
            "projected_attainment",
            projected,
            TARGET[level],
            "Projected revenue over the target of the period.",
            matching=_target_match(level),
        ),
    )


def _slippage(level: tuple[str, ...], scope: str, settings: RuleSettings) -> Alert:
    who = {
        "company": "The company",
        "team": "Team {{ $labels.team }}",
        "rep": "Rep {{ $labels.rep }} of team {{ $labels.team }}",
    }[scope]
    severity = {
        "company": Severity.CRITICAL,
        "team": Severity.WARNING,
        "rep": Severity.INFO,
    }[scope]
    return Alert(
        name="SalesPulseQuotaSlippage",
        expr=f'{PROJECTED_ATTAINMENT[level]}{{window="month_to_date"}}\n'
        f"< {settings.quota_attainment}\n"
        f"and {on(COMPANY)}\n({ELAPSED} > {settings.quota_elapsed})",
        duration=settings.quota_for,
        severity=severity,
        summary=f"{who} is projected at "
        "{{ $value | humanizePercentage }} of its monthly target.",
        description=f"{who} (job {{{{ $labels.job }}}}) has won at a pace "
        "that reaches {{ $value | humanizePercentage }} of its target by the "
        f"end of the month, below {settings.quota_attainment * 100:g}%, with "
        f"more than {settings.quota_elapsed * 100:g}% of the month gone.",
        labels=(("scope", scope),),
    )


def revenue(settings: RuleSettings) -> Kpi:
    """Return revenue against target: attainment, projection, quota slippage."""
    return Kpi(
        key="revenue",
        title="Revenue and target attainment",
        rule_file=RULE_FILE,
        metrics=(
            kpi("won_revenue"),
            kpi("target_amount"),
            kpi("window_elapsed_ratio"),
        ),
        recording_rules=(
            *_reference_rules(),
            *_revenue_rules(),
            *_attainment_rules(COMPANY),
            *_attainment_rules(TEAM),
            *_attainment_rules(REP),
        ),
        alerts=(
            _slippage(COMPANY, "company", settings),
            _slippage(TEAM, "team", settings),
            _slippage(REP, "rep", settings),
        ),
    )


def _previous_period(kind: str, pairs: tuple[tuple[str, str], ...]) -> RecordingRule:
    aligned = "\nor\n".join(
        f'label_replace({REVENUE[COMPANY]}{{window="{base}"}}, '
        f'"window", "{window}", "", "")'
        for base, window in pairs
    )
    return RecordingRule(
        record=record_name(COMPANY, "salespulse_won_revenue", kind),
        expr=aligned,
        meaning="The whole base period's revenue, relabelled with the to-date "
        "window it is compared with.",
    )


def _growth(kind: str, base: str) -> RecordingRule:
    base_record = record_name(COMPANY, "salespulse_won_revenue", base)
    return RecordingRule(
        record=record_name(COMPANY, "salespulse_won_revenue", f"growth_{base}"),
        expr=f"({REVENUE[COMPANY]} - {base_record})\n/\n({base_record} > 0)",
        meaning=f"Sales growth of the period to date over {kind}: (revenue - "
        "base) / base; none when the base is 0.",
    )


def growth() -> Kpi:
    """Return sales growth over the previous period and the same one last year."""
    previous = (
        ("previous_month", "month_to_date"),
        ("previous_quarter", "quarter_to_date"),
        ("previous_year", "year_to_date"),
    )
    last_year = (
        ("same_month_last_year", "month_to_date"),
        ("same_quarter_last_year", "quarter_to_date"),
        ("previous_year", "year_to_date"),
    )
    return Kpi(
        key="growth",
        title="Sales growth",
        rule_file=RULE_FILE,
        metrics=(kpi("won_revenue"),),
        recording_rules=(
            _previous_period("previous_period", previous),
            _previous_period("last_year", last_year),
            _growth("the whole previous period", "previous_period"),
            _growth("the same whole period last year", "last_year"),
        ),
    )


def _forecast_rules(level: tuple[str, ...]) -> tuple[RecordingRule, ...]:
    measure = "pipeline_closing_weighted_amount"
    remaining = f"({TARGET[level]} - {REVENUE[level]})"
    return (
        sum_rule(level, measure, f"\n0 * {REVENUE[level]}"),
        ratio_rule(
            level,
            "forecast_attainment",
            f"({REVENUE[level]} + {CLOSING[level]})",
            TARGET[level],
            "Forecast over target: revenue won plus the weighted pipeline "
            "expected to close in the period, over the period's target.",
        ),
        # Not ratio_rule: once the target is met, the remaining target is
        # covered without end, and +Inf says so where "no data" would not.
        RecordingRule(
            record=record_name(level, "salespulse_pipeline_coverage", "ratio"),
            expr=f'{CLOSING[level]}{{window=~"{TO_DATE_PERIODS}"}}\n/\n'
            f"clamp_min({remaining}, 0)",
            meaning="Weighted pipeline expected to close in the month (quarter) "
            "over the target still to win; +Inf once the target is met.",
        ),
    )


def _coverage_low(level: tuple[str, ...], scope: str, settings: RuleSettings) -> Alert:
    who = "The company" if scope == "company" else "Team {{ $labels.team }}"
    return Alert(
        name="SalesPulsePipelineCoverageLow",
        expr=f'{COVERAGE[level]}{{window="month_to_date"}}\n'
        f"< {settings.coverage_ratio}",
        duration=settings.coverage_for,
        severity=Severity.WARNING,
        summary=f'{who} has pipeline for {{{{ $value | printf "%.2f" }}}}x the '
        "target still to win this month.",
        description=f"{who} (job {{{{ $labels.job }}}}): the weighted pipeline "
        'expected to close this month covers {{ $value | printf "%.2f" }} times the '
        f"target still to win, below {settings.coverage_ratio:g}; the month "
        "cannot be made from the pipeline as it stands.",
        labels=(("scope", scope),),
    )


def forecast(settings: RuleSettings) -> Kpi:
    """Return the forecast against target and the coverage of what remains."""
    return Kpi(
        key="forecast",
        title="Forecast and pipeline coverage",
        rule_file=RULE_FILE,
        metrics=(kpi("pipeline_closing_weighted_amount"),),
        recording_rules=(*_forecast_rules(COMPANY), *_forecast_rules(TEAM)),
        alerts=(
            _coverage_low(COMPANY, "company", settings),
            _coverage_low(TEAM, "team", settings),
        ),
    )


def pipeline() -> Kpi:
    """Return the open pipeline as it stands, by stage, team and rep."""
    levels = (("job",), ("job", "stage"), ("job", "team"), ("job", "team", "rep"))
    measures = ("pipeline_amount", "pipeline_weighted_amount", "open_deals")
    return Kpi(
        key="pipeline",
        title="Weighted pipeline",
        rule_file=RULE_FILE,
        metrics=tuple(kpi(measure) for measure in measures),
        recording_rules=tuple(
            sum_rule(level, measure) for measure in measures for level in levels
        ),
    )
