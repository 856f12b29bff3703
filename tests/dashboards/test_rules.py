"""The generated Prometheus rules pass promtool and follow the conventions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.registry import RuleSettings
from dashboards.registry import alerts as registry_alerts
from tests.dashboards.conftest import REPOSITORY, run_tool

RULE_FILES = sorted((REPOSITORY / "deploy/prometheus/rules").glob("*.yml"))
RULE_TESTS = REPOSITORY / "tests/dashboards/rules_test.yml"
KPI_RULE_TESTS = REPOSITORY / "tests/dashboards/kpi_rules_test.yml"
RUNBOOKS = REPOSITORY / "docs/runbooks.md"
RECORD_NAME = re.compile(r"^[a-z_]+:[a-z_]+:[a-z0-9_]+$")


def _rules() -> list[dict[str, Any]]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules += group["rules"]
    return rules


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def test_rule_files_exist() -> None:
    assert [path.name for path in RULE_FILES] == [
        "salespulse-engine.yml",
        "salespulse-saas.yml",
        "salespulse-sales.yml",
    ]


def test_promtool_checks_the_rule_files(promtool: str) -> None:
    result = run_tool(promtool, "check", "rules", *map(str, RULE_FILES))

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = run_tool(promtool, "test", "rules", str(RULE_TESTS), str(KPI_RULE_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fail_on_a_wrong_expectation(
    promtool: str, tmp_path: Path
) -> None:
    text = RULE_TESTS.read_text(encoding="utf-8")
    broken = tmp_path / "tests" / "dashboards" / "rules_test.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace("0.09090909090909091", "0.5"), encoding="utf-8")
    rules = tmp_path / "deploy/prometheus/rules"
    rules.mkdir(parents=True)
    for path in RULE_FILES:
        (rules / path.name).write_text(path.read_text(encoding="utf-8"))

    result = run_tool(promtool, "test", "rules", str(broken))

    assert result.returncode != 0
    assert "ratio_rate5m" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [
        case
        for path in (RULE_TESTS, KPI_RULE_TESTS)
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    ]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}

    assert names == {
        "SalesPulseWorkerDown",
        "SalesPulseNoEvents",
        "SalesPulseRejectsSpiking",
        "SalesPulseConsumerLagGrowing",
        "SalesPulseQuotaSlippage",
        "SalesPulseChurnHigh",
        "SalesPulsePipelineCoverageLow",
    }
    assert firing == names
    assert quiet == names


def test_recording_rules_are_named_level_metric_operations() -> None:
    records = [rule["record"] for rule in _rules() if "record" in rule]

    assert "job:salespulse_events_consumed:rate5m" in records
    assert "job:salespulse_events_rejected:ratio_rate5m" in records
    for record in records:
        assert RECORD_NAME.match(record), record


def test_ratios_divide_sums_and_never_average() -> None:
    for rule in _rules():
        assert not re.search(r"\bavg\b", rule["expr"]), rule


def test_reference_series_are_never_summed() -> None:
    reference = (
        "salespulse_target_amount",
        "salespulse_window_elapsed_ratio",
        "salespulse_rep_info",
        "salespulse_campaign_info",
        "salespulse_gross_margin_ratio",
        "salespulse_ltv_cap_months",
    )
    for rule in _rules():
        for name in reference:
            assert not re.search(rf"sum[^(]*\({name}\b", rule["expr"]), rule


def test_quota_slippage_has_a_rule_per_scope() -> None:
    scopes = {
        alert["labels"]["scope"]: alert["labels"]["severity"]
        for alert in _alerts()
        if alert["alert"] == "SalesPulseQuotaSlippage"
    }

    assert scopes == {"company": "critical", "team": "warning", "rep": "info"}


@pytest.mark.parametrize("alert", _alerts(), ids=lambda alert: alert["alert"])
def test_alert_follows_the_conventions(alert: dict[str, Any]) -> None:
    assert alert["alert"].startswith("SalesPulse")
    assert re.fullmatch(r"[A-Z][A-Za-z]+", alert["alert"])
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}
    assert set(alert["annotations"]) == {"summary", "description", "runbook_url"}
    assert alert["annotations"]["runbook_url"] == (
        f"docs/runbooks.md#{alert['alert'].lower()}"
    )


def test_every_runbook_url_has_its_section() -> None:
    headings = {
        line[3:].strip().lower()
        for line in RUNBOOKS.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }

    for alert in _alerts():
        anchor = alert["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in headings, anchor


def test_settings_change_the_thresholds() -> None:
    settings = RuleSettings(
        worker_job="sp",
        reject_share=0.2,
        stale_after_minutes=30,
        runbook_base="https://example.org/runbooks.md",
    )
    alerts = {alert.name: alert for alert in registry_alerts(settings)}

    assert alerts["SalesPulseWorkerDown"].expr == 'up{job="sp"} == 0'
    assert alerts["SalesPulseRejectsSpiking"].expr.endswith("> 0.2")
    assert "> 1800" in alerts["SalesPulseNoEvents"].expr
    assert settings.runbook_url(alerts["SalesPulseNoEvents"]) == (
        "https://example.org/runbooks.md#salespulsenoevents"
    )


def test_settings_shorten_the_kpi_alerts() -> None:
    settings = RuleSettings(quota_attainment=0.5, quota_for="1m", coverage_ratio=2)
    alerts = [a for a in registry_alerts(settings) if a.name.endswith("Slippage")]

    assert all("< 0.5" in alert.expr and alert.duration == "1m" for alert in alerts)
