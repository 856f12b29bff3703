"""The registry's metrics follow Prometheus' naming conventions."""

from __future__ import annotations

import re

from dashboards.registry import MetricKind, boards

PROJECT_METRIC = re.compile(r"^salespulse_[a-z][a-z0-9_]*[a-z0-9]$")


def test_counters_end_in_total_and_gauges_do_not() -> None:
    for board in boards():
        for metric in board.metrics():
            is_total = metric.name.endswith("_total")
            assert is_total == (metric.kind is MetricKind.COUNTER), metric.name


def test_project_metrics_carry_the_prefix_and_a_help_text() -> None:
    for board in boards():
        for metric in board.metrics():
            if metric.name != "up":
                assert PROJECT_METRIC.match(metric.name), metric.name
            assert metric.help.endswith("."), metric.name


def test_every_metric_a_panel_reads_is_in_the_catalogue() -> None:
    for board in boards():
        catalogued = {metric.name for metric in board.metrics()}
        for entry in board.entries:
            for query in entry.queries:
                read = set(re.findall(r"\b(salespulse_[a-z_]+|up)\{", query.expr))
                assert read <= catalogued, (entry.key, read - catalogued)


def test_entry_keys_and_board_uids_are_unique() -> None:
    uids = [board.uid for board in boards()]
    keys = [entry.key for board in boards() for entry in board.entries]

    assert len(uids) == len(set(uids))
    assert len(keys) == len(set(keys))
