"""The observable surface against a real Prometheus scraping a real worker.

A simulated year and a bit of business is produced to Kafka, a worker folds
it, and a Prometheus scrapes the worker with the generated rule files. Then
every query of every generated panel and every recording rule must return
data, the headline values must equal the batch replay's, and the quota
slippage alert must reach Alertmanager for the slowed team alone.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import RULES_DIR, generated_files
from dashboards.model import RuleSettings
from deploy.broker import Kafka
from deploy.engine import Simulator, Worker
from deploy.monitoring import Prometheus
from deploy.services import Redis
from tests.conftest import MakeAlertmanager, MakePrometheus
from tests.scrape import wait_for
from tests.streams.engine_harness import (
    Scenario,
    expected,
    make_scenario,
    produce,
    start_worker,
)

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
DASHBOARDS = REPOSITORY / "deploy" / "grafana" / "dashboards"
RULES = REPOSITORY / "deploy" / "prometheus" / "rules"
ALERTMANAGER_CONFIG = REPOSITORY / "deploy" / "alertmanager" / "alertmanager.yml"
JOB = "salespulse"

# Grafana's built-in interval variables, given values a 1 s scrape fills.
_GRAFANA_VARIABLES = {
    "$__rate_interval": "30s",
    "$__interval": "5s",
    "$__range": "5m",
    "$job": JOB,
}


@dataclass
class Running:
    """A worker that has folded a scenario, and a Prometheus scraping it."""

    scenario: Scenario
    worker: Worker
    prometheus: Prometheus


def query(prometheus: Prometheus, expr: str) -> list[dict[str, Any]]:
    """Return the result of an instant query, failing on a query error."""
    url = f"{prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=30) as reply:
        answer = json.load(reply)
    if answer["status"] != "success":
        raise AssertionError(f"{expr}: {answer}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def concrete(expr: str) -> str:
    """Put values in place of the dashboard variables of a panel query."""
    for variable, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(
        r"\$\{(\w+)\}", lambda match: _GRAFANA_VARIABLES["$" + match[1]], expr
    )


def panel_queries() -> Iterator[tuple[str, str, str]]:
    """Yield (dashboard, panel title, expr) for every generated panel query."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        panels = list(board.get("panels", []))
        for panel in list(panels):
            panels.extend(panel.get("panels", []))
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield path.stem, panel.get("title", ""), target["expr"]


def recording_rules() -> Iterator[str]:
    """Yield the name of every generated recording rule."""
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    yield rule["record"]


@pytest.fixture
def running(
    kafka: Kafka,
    redis_server: Redis,
    tmp_path: Path,
    make_prometheus: MakePrometheus,
) -> Iterator[Running]:
    """Fold 400 simulated days, then let a Prometheus scrape the worker."""
    scenario = make_scenario(
        kafka, redis_server, tmp_path, events=150_000, days=400, seed=3
    )
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        valid = sum(1 for message in scenario.messages if message.reject is None)
        wait_for(
            lambda: _consumed(worker) >= valid,
            timeout=240,
            what=f"the worker to fold {valid} events",
        )
        prometheus = make_prometheus(
            scrape_targets=[f"127.0.0.1:{worker.port}"],
            rule_files=sorted(RULES.glob("*.yml")),
            job=JOB,
        )
        # Rates need two scrapes within their range; rules a few evaluations.
        wait_for(
            lambda: (
                bool(query(prometheus, f'up{{job="{JOB}"}} == 1'))
                and bool(query(prometheus, "salespulse_batches_total offset 10s"))
            ),
            timeout=60,
            what="Prometheus to have scraped the worker for 10 s",
        )
        time.sleep(3)
        yield Running(scenario, worker, prometheus)
    finally:
        worker.stop()


def _consumed(worker: Worker) -> float:
    from tests.scrape import scrape  # noqa: PLC0415

    return sum(
        value
        for (name, _), value in scrape(worker.metrics_url).items()
        if name == "salespulse_events_consumed_total"
    )


def test_panels_and_rules_return_data_and_headlines_equal_the_replay(
    running: Running, tmp_path: Path
) -> None:
    # 1. At rest, the headline numbers are the replay's.
    assert_headlines_equal_the_replay(running)

    # 2. With events flowing (and some malformed), every query has data.
    simulator = Simulator(
        tmp_path / "simulator",
        running.scenario.settings,
        ["--seed=9", "--rate=200", "--speedup=60", "--malformed=0.05"],
    )
    simulator.start()
    try:
        time.sleep(20)
        empty = [
            f"{board} / {title}: {expr}"
            for board, title, expr in panel_queries()
            if not query(running.prometheus, concrete(expr))
        ]
        empty += [
            f"recording rule {record}"
            for record in recording_rules()
            if not query(running.prometheus, record)
        ]
    finally:
        simulator.stop()
    assert empty == [], "\n".join(empty)


def assert_headlines_equal_the_replay(running: Running) -> None:
    """Check a few headline sums in Prometheus against the batch replay."""
    want = expected(running.scenario, datetime.now(UTC))

    def replayed(name: str, **labels: str) -> Decimal:
        return sum(
            (
                value
                for (family, pairs), value in want.items()
                if family == name and labels.items() <= dict(pairs).items()
            ),
            Decimal(0),
        )

    def prometheus(expr: str) -> float:
        result = query(running.prometheus, expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    for window in ("month_to_date", "previous_month", "year_to_date"):
        revenue = replayed("salespulse_won_revenue", window=window)
        assert prometheus(
            f'sum(salespulse_won_revenue{{job="{JOB}",window="{window}"}})'
        ) == pytest.approx(float(revenue), rel=1e-12)
    pipeline = replayed("salespulse_pipeline_weighted_amount")
    assert prometheus(
        f'sum(salespulse_pipeline_weighted_amount{{job="{JOB}"}})'
    ) == pytest.approx(float(pipeline), rel=1e-12)
    mrr = replayed("salespulse_mrr", window="month_to_date", at="end")
    assert prometheus(
        f'sum(salespulse_mrr{{job="{JOB}",window="month_to_date",at="end"}})'
    ) == pytest.approx(float(mrr), rel=1e-12)


def test_quota_slippage_reaches_alertmanager_for_the_slowed_team_alone(
    kafka: Kafka,
    redis_server: Redis,
    tmp_path: Path,
    make_prometheus: MakePrometheus,
    make_alertmanager: MakeAlertmanager,
) -> None:
    # The simulated apac team wins nothing; the others sell as usual.
    scenario = make_scenario(
        kafka,
        redis_server,
        tmp_path,
        events=30_000,
        days=60,
        seed=4,
        team_pace=(("apac", 0.0),),
    )
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        valid = sum(1 for message in scenario.messages if message.reject is None)
        wait_for(lambda: _consumed(worker) >= valid, timeout=120, what="the fold")
        projected = projected_attainment(scenario)
        others = [value for team, value in projected.items() if team != "apac"]
        # Alert below the midpoint between apac and the slowest other team (or
        # the company): it must separate them, whatever this month's luck.
        assert projected["apac"] == 0
        assert min(others) > 0, f"no other team has won this month yet: {projected}"
        threshold = min(others) / 2
        settings = RuleSettings(
            quota_attainment=threshold, quota_elapsed=0.0, quota_for="0s"
        )
        rules = write_rules(tmp_path / "rules", settings)
        alertmanager = make_alertmanager(config_path=ALERTMANAGER_CONFIG)
        make_prometheus(
            scrape_targets=[f"127.0.0.1:{worker.port}"],
            rule_files=rules,
            alertmanager=alertmanager.url,
            job=JOB,
        )

        def slipping() -> list[dict[str, str]]:
            return [
                alert["labels"]
                for alert in alerts(alertmanager.url)
                if alert["labels"]["alertname"] == "SalesPulseQuotaSlippage"
                and alert["labels"].get("scope") in ("team", "company")
            ]

        wait_for(lambda: bool(slipping()), timeout=90, what="the quota alert")
        time.sleep(5)  # a few more evaluations: no other team joins
        assert [(a["scope"], a.get("team")) for a in slipping()] == [("team", "apac")]
    finally:
        worker.stop()


def projected_attainment(scenario: Scenario) -> dict[str, float]:
    """Return each team's (and the company's) projected attainment per replay."""
    want = expected(scenario, datetime.now(UTC))
    elapsed = next(
        float(value)
        for (name, pairs), value in want.items()
        if name == "salespulse_window_elapsed_ratio"
        and dict(pairs)["window"] == "month_to_date"
    )
    revenue: dict[str, float] = {}
    targets: dict[str, float] = {}
    for (name, pairs), value in want.items():
        labels = dict(pairs)
        if labels.get("window") != "month_to_date":
            continue
        if name == "salespulse_won_revenue":
            revenue[labels["team"]] = revenue.get(labels["team"], 0) + float(value)
            revenue["company"] = revenue.get("company", 0) + float(value)
        elif name == "salespulse_target_amount" and labels["scope"] == "team":
            targets[labels["team"]] = float(value)
        elif name == "salespulse_target_amount" and labels["scope"] == "company":
            targets["company"] = float(value)
    return {
        team: revenue.get(team, 0) / elapsed / target
        for team, target in targets.items()
    }


def write_rules(folder: Path, settings: RuleSettings) -> list[Path]:
    """Write the rule files generated with ``settings``; return their paths."""
    folder.mkdir(parents=True)
    written = []
    for path, text in generated_files(settings).items():
        if str(path).startswith(str(RULES_DIR)):
            target = folder / path.name
            target.write_text(text)
            written.append(target)
    return written


def alerts(alertmanager_url: str) -> list[dict[str, Any]]:
    """Return the alerts Alertmanager holds."""
    with urllib.request.urlopen(
        f"{alertmanager_url}/api/v2/alerts", timeout=10
    ) as reply:
        found: list[dict[str, Any]] = json.load(reply)
    return found
