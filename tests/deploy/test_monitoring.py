"""Tests of Prometheus and Alertmanager as deploy/monitoring.py runs them."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from deploy.monitoring import Prometheus, write_prometheus_config
from deploy.services import DeployError
from tests.conftest import MakeAlertmanager, MakePrometheus

T = TypeVar("T")

# How long a test waits for something Prometheus does on its own schedule.
PATIENCE_SECONDS = 60.0


def fetch_json(url: str) -> Any:
    """Return the decoded JSON body of a GET request."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def poll(fetch: Callable[[], T], until: Callable[[T], bool]) -> T:
    """Call ``fetch`` until its value satisfies ``until``, then return the value.

    Prometheus scrapes and applies a configuration on its own schedule; after
    a while this returns the last value anyway and the test's assertion says
    what is wrong with it.
    """
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def query(prometheus: Prometheus, promql: str) -> list[dict[str, Any]]:
    """Return the series of an instant query."""
    arguments = urllib.parse.urlencode({"query": promql})
    result: list[dict[str, Any]] = fetch_json(
        f"{prometheus.url}/api/v1/query?{arguments}"
    )["data"]["result"]
    return result


def active_jobs(prometheus: Prometheus) -> set[str]:
    """Return the job labels of the targets Prometheus scrapes now."""
    targets = fetch_json(f"{prometheus.url}/api/v1/targets")["data"]
    return {target["labels"]["job"] for target in targets["activeTargets"]}


def read_config(path: Path) -> dict[str, Any]:
    """Parse a written YAML configuration."""
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    return config


@pytest.mark.integration
def test_prometheus_scrapes_itself(make_prometheus: MakePrometheus) -> None:
    prometheus = make_prometheus(scrape_self=True, job="self")

    result = poll(lambda: query(prometheus, 'up{job="self"}'), until=bool)

    assert [series["value"][1] for series in result] == ["1"]
    assert result[0]["metric"]["instance"] == f"127.0.0.1:{prometheus.port}"


@pytest.mark.integration
def test_prometheus_reload_reads_a_new_configuration(
    make_prometheus: MakePrometheus,
) -> None:
    prometheus = make_prometheus(scrape_self=True, job="before")
    assert prometheus.config_path is not None
    assert poll(lambda: active_jobs(prometheus), until=bool) == {"before"}
    write_prometheus_config(
        prometheus.config_path,
        scrape_targets=[f"127.0.0.1:{prometheus.port}"],
        job="after",
    )

    prometheus.reload()

    jobs = poll(lambda: active_jobs(prometheus), until=lambda jobs: jobs == {"after"})
    assert jobs == {"after"}


@pytest.mark.integration
def test_alertmanager_answers_its_status(make_alertmanager: MakeAlertmanager) -> None:
    alertmanager = make_alertmanager()

    status = fetch_json(f"{alertmanager.url}/api/v2/status")

    assert status["cluster"]["status"] == "disabled"
    assert yaml.safe_load(status["config"]["original"])["route"]["receiver"] == "null"


def test_prometheus_config_lists_targets_rules_and_alertmanager(
    tmp_path: Path,
) -> None:
    path = tmp_path / "prometheus.yml"
    rules = tmp_path / "rules" / "salespulse.rules.yml"

    write_prometheus_config(
        path,
        scrape_targets=["127.0.0.1:9464", "127.0.0.1:9465"],
        rule_files=[rules],
        alertmanager="127.0.0.1:9093",
        scrape_interval="2s",
        evaluation_interval="3s",
    )

    config = read_config(path)
    assert config["global"] == {"scrape_interval": "2s", "evaluation_interval": "3s"}
    assert config["scrape_configs"] == [
        {
            "job_name": "salespulse",
            "static_configs": [{"targets": ["127.0.0.1:9464", "127.0.0.1:9465"]}],
        }
    ]
    assert config["rule_files"] == [str(rules)]
    assert config["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]
    }


def test_prometheus_config_takes_the_alertmanager_url(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"

    write_prometheus_config(
        path, scrape_targets=[], alertmanager="http://127.0.0.1:9093"
    )

    assert read_config(path)["alerting"]["alertmanagers"] == [
        {"scheme": "http", "static_configs": [{"targets": ["127.0.0.1:9093"]}]}
    ]


def test_prometheus_config_without_alertmanager_sends_alerts_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prometheus.yml"
    monkeypatch.chdir(tmp_path)

    write_prometheus_config(
        path,
        scrape_targets=["127.0.0.1:9464"],
        job="salespulse-ci",
        rule_files=[Path("relative.rules.yml")],
    )

    config = read_config(path)
    assert "alerting" not in config
    assert config["scrape_configs"][0]["job_name"] == "salespulse-ci"
    assert config["rule_files"] == [str(tmp_path / "relative.rules.yml")]


def test_prometheus_config_rejects_a_url_as_scrape_target(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=re.escape("http://127.0.0.1:9464/metrics")):
        write_prometheus_config(
            tmp_path / "prometheus.yml",
            scrape_targets=["http://127.0.0.1:9464/metrics"],
        )
