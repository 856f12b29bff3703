"""The registry's metrics follow Prometheus' naming conventions."""

from __future__ import annotations

import re

from dashboards.registry import MetricKind, boards, kpis, metrics

PROJECT_METRIC = re.compile(r"^salespulse_[a-z][a-z0-9_]*[a-z0-9]$")


def test_counters_end_in_total_and_gauges_do_not() -> None:
    for metric in metrics():
        is_total = metric.name.endswith("_total")
        assert is_total == (metric.kind is MetricKind.COUNTER), metric.name


def test_project_metrics_carry_the_prefix_and_a_help_text() -> None:
    for metric in metrics():
        if metric.name != "up":
            assert PROJECT_METRIC.match(metric.name), metric.name
        assert metric.help.endswith("."), metric.name


def test_every_metric_a_panel_reads_is_in_the_catalogue() -> None:
    catalogued = {metric.name for metric in metrics()}
    for board in boards():
        for entry in board.entries:
            for query in entry.queries:
                read = set(re.findall(r"\b(salespulse_[a-z_]+|up)\{", query.expr))
                assert read <= catalogued, (entry.key, read - catalogued)


def test_entry_keys_and_board_uids_are_unique() -> None:
    uids = [board.uid for board in boards()]
    keys = [entry.key for board in boards() for entry in board.entries]

    assert len(uids) == len(set(uids))
    assert len(keys) == len(set(keys))


def test_every_record_a_panel_reads_is_recorded() -> None:
    recorded = {rule.record for kpi in kpis() for rule in kpi.recording_rules}
    for board in boards():
        for entry in board.entries:
            for query in entry.queries:
                read = set(re.findall(r"\b([a-z_]+:[a-z_]+:[a-z0-9_]+)\{", query.expr))
                assert read <= recorded, (entry.key, read - recorded)


def test_record_names_are_unique() -> None:
    records = [rule.record for kpi in kpis() for rule in kpi.recording_rules]

    assert len(records) == len(set(records))


def test_kpi_metrics_are_the_exported_families() -> None:
    names = {metric.name for metric in metrics()}

    assert {
        "salespulse_won_revenue",
        "salespulse_target_amount",
        "salespulse_mrr",
        "salespulse_paying_accounts",
        "salespulse_leads_created",
        "salespulse_consumer_lag_messages",
        "salespulse_recovery_position_records",
    } <= names
