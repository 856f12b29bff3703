"""docker-compose.yml and the Prometheus and Alertmanager files are valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.provisioning import DASHBOARDS_PATH, SCRAPE_INTERVAL
from dashboards.registry import RuleSettings
from tests.dashboards.conftest import REPOSITORY, run_tool

COMPOSE = REPOSITORY / "docker-compose.yml"
PROMETHEUS_CONFIG = REPOSITORY / "deploy/prometheus/prometheus.yml"
ALERTMANAGER_CONFIG = REPOSITORY / "deploy/alertmanager/alertmanager.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    """Validate a Compose file offline against the Compose specification."""
    command = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(command), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_compose_file_follows_the_compose_specification() -> None:
    result = _check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_a_wrong_condition(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["depends_on"]["kafka"]["condition"] = "ready"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))

    result = _check_compose(path)
    assert result.returncode == 1
    assert "depends_on" in result.stdout


def test_every_mounted_host_path_exists(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source in named:
                continue
            assert (REPOSITORY / source).exists(), f"{name}: {source}"


def test_every_build_context_and_dockerfile_exists(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        build = service.get("build")
        if build:
            context = REPOSITORY / build["context"]
            assert (context / build["dockerfile"]).is_file()


def test_images_are_pinned_to_the_tested_versions(compose: dict[str, Any]) -> None:
    images = {
        name: service["image"]
        for name, service in compose["services"].items()
        if "build" not in service
    }

    assert images["kafka"].startswith("apache/kafka:3.9.")
    assert images["redis"] == "redis:7.0.15"
    assert images["prometheus"] == "prom/prometheus:v2.42.0"
    assert images["alertmanager"] == "prom/alertmanager:v0.25.0"
    assert images["grafana"].startswith("grafana/grafana:12.")
    assert all(":latest" not in image for image in images.values())


def test_services_start_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    with_healthcheck = {name for name, svc in services.items() if "healthcheck" in svc}
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} -> {dependency}"
            if rule["condition"] == "service_healthy":
                assert dependency in with_healthcheck, f"{name} -> {dependency}"

    assert services["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == (
        "service_healthy"
    )


def test_engine_containers_listen_beyond_loopback(compose: dict[str, Any]) -> None:
    for name in ("worker", "simulator"):
        environment = compose["services"][name]["environment"]
        assert environment["SALESPULSE_EXPORTER_HOST"] == "0.0.0.0"
        assert environment["SALESPULSE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert environment["SALESPULSE_REDIS_URL"].startswith("redis://redis:")


def test_grafana_mounts_the_generated_dashboards(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["grafana"]["volumes"]

    assert f"./deploy/grafana/dashboards:{DASHBOARDS_PATH}:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes


def test_prometheus_config_is_valid(promtool: str) -> None:
    result = run_tool(
        promtool, "check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_the_worker_as_the_rules_expect() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker_job = jobs[RuleSettings().worker_job]

    assert worker_job["static_configs"][0]["targets"] == ["worker:9464"]
    assert config["global"]["scrape_interval"] == SCRAPE_INTERVAL
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_alertmanager_config_is_valid(amtool: str) -> None:
    result = run_tool(amtool, "check-config", str(ALERTMANAGER_CONFIG))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("alertname=SalesPulseWorkerDown", "severity=critical"), "salespulse-webhook"),
        (("alertname=SalesPulseNoEvents", "severity=warning"), "salespulse-webhook"),
        (("alertname=Something", "severity=info"), "null"),
        (("alertname=Something",), "null"),
        (("alertname=Kpi", "severity=warning", "team=emea"), "salespulse-webhook"),
        (("alertname=Kpi", "severity=info", "team=emea"), "null"),
        (
            ("alertname=SalesPulseQuotaSlippage", "severity=warning", "team=apac"),
            "team-apac",
        ),
        (
            ("alertname=SalesPulseQuotaSlippage", "severity=info", "team=apac"),
            "null",
        ),
        (
            ("alertname=SalesPulseQuotaSlippage", "severity=critical", "scope=company"),
            "salespulse-webhook",
        ),
    ],
)
def test_alertmanager_routes_by_severity_and_team(
    amtool: str, labels: tuple[str, ...], receiver: str
) -> None:
    result = run_tool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        *labels,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_webhook_url_is_marked_as_the_users_to_set() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    webhooks = [r for r in config["receivers"] if "webhook_configs" in r]

    assert len(webhooks) == 5
    for webhook in webhooks:
        assert ".invalid" in webhook["webhook_configs"][0]["url"]
    assert "YOURS TO SET" in ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
