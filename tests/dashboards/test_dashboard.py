"""The engine-health dashboard follows the conventions of dashboards as code.

The checks that hold for every dashboard (grid, overlaps, titles and
descriptions, the job variable, the wall within one screen) are in
test_layout.py; the schema in test_schema.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.dashboards.conftest import REPOSITORY

DASHBOARDS = REPOSITORY / "deploy/grafana/dashboards"
UIDS = ("wall", "pipeline", "reps", "products", "saas", "marketing", "engine")


def _load(uid: str) -> dict[str, Any]:
    path = DASHBOARDS / f"salespulse-{uid}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(params=UIDS)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


@pytest.fixture(scope="module")
def engine() -> dict[str, Any]:
    return _load("engine")


@pytest.fixture(scope="module")
def wall() -> dict[str, Any]:
    return _load("wall")


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def _targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [target for panel in dashboard["panels"] for target in panel["targets"]]


def test_uid_is_stable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] in {f"salespulse-{uid}" for uid in UIDS}


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


def test_panels_are_modern(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat", "gauge", "bargauge"}


def test_panels_show_the_engine_health(engine: dict[str, Any]) -> None:
    titles = {panel["title"] for panel in engine["panels"]}

    assert titles >= {
        "Workers up",
        "Reject share",
        "Seconds since the last event, by topic",
        "Events consumed per second, by type",
        "Messages rejected per second, by reason",
        "Consumer lag, by topic",
        "Freshness: age of the newest event, by topic",
        "Changelog recovery and partitions owned",
    }


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert len(ids) == len(set(ids))


def test_reject_share_is_a_ratio_of_sums(engine: dict[str, Any]) -> None:
    (panel,) = [p for p in engine["panels"] if p["title"] == "Reject share"]
    (target,) = panel["targets"]

    assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert "avg" not in target["expr"]
    assert target["expr"].count("sum(rate(") == 3


def test_wall_refreshes_every_ten_seconds(wall: dict[str, Any]) -> None:
    assert wall["refresh"] == "10s"


def test_wall_shows_what_the_issue_asks(wall: dict[str, Any]) -> None:
    kinds = {panel["type"] for panel in wall["panels"]}
    queries = " ".join(t["expr"] for p in wall["panels"] for t in p["targets"])

    assert kinds == {"stat", "gauge", "bargauge", "timeseries"}
    for record in (
        "job_window:salespulse_won_revenue:sum",
        "job_window:salespulse_projected_attainment:ratio",
        "job:salespulse_pipeline_weighted_amount:sum",
        "job_window:salespulse_pipeline_coverage:ratio",
        "job_window:salespulse_net_new_mrr:sum",
        "job_window:salespulse_logo_churn:ratio",
        "topk(10, job_window_team_region_rep:salespulse_won_revenue:sum",
    ):
        assert record in queries
    assert 'window="same_month_last_year"' in queries
    assert 'window="previous_month"' in queries
