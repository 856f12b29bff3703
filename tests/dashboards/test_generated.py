"""The committed generated files are what a fresh build writes."""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboards.build import GENERATED_DIRS, build, generated_files
from dashboards.cli import register
from tests.dashboards.conftest import REPOSITORY


def test_committed_files_equal_a_fresh_build() -> None:
    stale = [
        str(relative)
        for relative, text in generated_files().items()
        if not (REPOSITORY / relative).is_file()
        or (REPOSITORY / relative).read_text(encoding="utf-8") != text
    ]

    assert stale == [], "run `salespulse dashboards build` and commit the result"


def test_generated_folders_hold_no_stale_file() -> None:
    expected = {REPOSITORY / relative for relative in generated_files()}

    for folder in GENERATED_DIRS:
        present = {path for path in (REPOSITORY / folder).iterdir() if path.is_file()}
        assert present <= expected, f"{folder} holds files no build writes"


def test_build_writes_the_tree_under_out(tmp_path: Path) -> None:
    written = build(tmp_path)

    relative = {path.relative_to(tmp_path).as_posix() for path in written}
    boards = ("wall", "pipeline", "reps", "products", "saas", "marketing", "engine")
    assert relative == {
        *(f"deploy/grafana/dashboards/salespulse-{name}.json" for name in boards),
        "deploy/grafana/provisioning/dashboards/salespulse.yml",
        "deploy/grafana/provisioning/datasources/prometheus.yml",
        "deploy/prometheus/rules/salespulse-engine.yml",
        "deploy/prometheus/rules/salespulse-sales.yml",
        "deploy/prometheus/rules/salespulse-saas.yml",
        "docs/metrics.md",
    }


def test_command_line_build_writes_into_out(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="salespulse")
    register(parser.add_subparsers(dest="command", required=True))

    args = parser.parse_args(["dashboards", "build", "--out", str(tmp_path)])
    code = args.handler(args)

    assert code == 0
    dashboard = tmp_path / "deploy/grafana/dashboards/salespulse-engine.json"
    assert dashboard.read_text(encoding="utf-8") == (
        REPOSITORY / "deploy/grafana/dashboards/salespulse-engine.json"
    ).read_text(encoding="utf-8")


def test_command_line_build_reports_an_unwritable_out(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    parser = argparse.ArgumentParser(prog="salespulse")
    register(parser.add_subparsers(dest="command", required=True))

    args = parser.parse_args(["dashboards", "build", "--out", str(blocker)])

    assert args.handler(args) == 1


def test_catalogue_lists_every_metric_rule_and_alert() -> None:
    text = (REPOSITORY / "docs/metrics.md").read_text(encoding="utf-8")

    for name in (
        "salespulse_events_consumed_total",
        "salespulse_events_rejected_total",
        "salespulse_event_last_consumed_timestamp_seconds",
        "salespulse_worker_info",
        "job:salespulse_events_rejected:ratio_rate5m",
        "SalesPulseWorkerDown",
        "SalesPulseNoEvents",
        "SalesPulseRejectsSpiking",
        "SalesPulseQuotaSlippage",
        "SalesPulseChurnHigh",
        "SalesPulsePipelineCoverageLow",
        "SalesPulseConsumerLagGrowing",
        "salespulse_won_revenue",
        "salespulse_consumer_lag_messages",
        "job_window_team:salespulse_projected_attainment:ratio",
        "job_window:salespulse_net_revenue_retention:ratio",
    ):
        assert f"`{name}`" in text
