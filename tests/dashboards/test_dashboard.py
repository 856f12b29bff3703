"""The engine-health dashboard follows the conventions of dashboards as code."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

import pytest

from tests.dashboards.conftest import REPOSITORY

DASHBOARD = REPOSITORY / "deploy/grafana/dashboards/salespulse-engine.json"


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def _targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [target for panel in dashboard["panels"] for target in panel["targets"]]


def test_uid_is_stable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "salespulse-engine"


def test_schema_is_the_modern_one(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] >= 39


def test_datasource_variable_defaults_to_the_provisioned_prometheus(
    dashboard: dict[str, Any],
) -> None:
    variable = _variables(dashboard)["datasource"]
    provisioned = (
        REPOSITORY / "deploy/grafana/provisioning/datasources/prometheus.yml"
    ).read_text(encoding="utf-8")

    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"
    assert f"uid: {variable['current']['value']}\n" in provisioned


def test_job_variable_lists_the_workers_jobs(dashboard: dict[str, Any]) -> None:
    variable = _variables(dashboard)["job"]

    assert variable["type"] == "query"
    assert variable["datasource"]["uid"] == "${datasource}"
    assert variable["query"] == "label_values(salespulse_worker_info, job)"
    assert variable["multi"] is True
    assert variable["includeAll"] is True


def test_every_query_selects_the_job_variable(dashboard: dict[str, Any]) -> None:
    for target in _targets(dashboard):
        selectors = re.findall(r"\{([^}]*)\}", target["expr"].replace("{{", ""))
        assert selectors, target["expr"]
        assert all('job=~"$job"' in selector for selector in selectors), target


def test_every_rate_uses_the_rate_interval(dashboard: dict[str, Any]) -> None:
    for target in _targets(dashboard):
        windows = re.findall(r"rate\([^\[]*\[([^\]]+)\]", target["expr"])
        assert all(window == "$__rate_interval" for window in windows), target


def test_every_panel_and_query_uses_the_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    for target in _targets(dashboard):
        assert target["datasource"]["uid"] == "${datasource}"


def test_panels_are_modern_and_described(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat"}
        assert len(panel["description"]) > 40, panel["title"]


def test_panels_show_the_engine_health(dashboard: dict[str, Any]) -> None:
    titles = {panel["title"] for panel in dashboard["panels"]}

    assert titles == {
        "Workers up",
        "Reject share",
        "Seconds since the last event, by topic",
        "Events consumed per second, by type",
        "Messages rejected per second, by reason",
    }


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert len(ids) == len(set(ids))


def test_panels_fit_in_24_columns(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["y"] >= 0
        assert grid["w"] > 0 and grid["h"] > 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    for first, second in combinations(dashboard["panels"], 2):
        a, b = first["gridPos"], second["gridPos"]
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, (first["title"], second["title"])


def test_reject_share_is_a_ratio_of_sums(dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == "Reject share"]
    (target,) = panel["targets"]

    assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert "avg" not in target["expr"]
    assert target["expr"].count("sum(rate(") == 3
