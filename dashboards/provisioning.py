"""Render Grafana's provisioning files: the Prometheus datasource, the dashboards."""

from __future__ import annotations

from dashboards import yamltext
from dashboards.grafana import DATASOURCE_NAME, DATASOURCE_UID
from dashboards.rules import GENERATED_HEADER

PROMETHEUS_URL = "http://prometheus:9090"
"""Prometheus as the Grafana container of docker-compose.yml reaches it."""

DASHBOARDS_PATH = "/var/lib/grafana/dashboards"
"""Where docker-compose.yml mounts deploy/grafana/dashboards in Grafana."""

SCRAPE_INTERVAL = "15s"
"""Prometheus' scrape interval; Grafana derives ``$__rate_interval`` from it."""


def datasource_file() -> str:
    """Return the datasource provisioning file: Prometheus with a fixed uid."""
    document = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": DATASOURCE_NAME,
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": PROMETHEUS_URL,
                "isDefault": True,
                "editable": False,
                "jsonData": {
                    "timeInterval": SCRAPE_INTERVAL,
                    "httpMethod": "POST",
                },
            }
        ],
    }
    return yamltext.dump(document, header=GENERATED_HEADER)


def dashboard_provider_file() -> str:
    """Return the dashboard provider that loads the generated JSON files."""
    document = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "salespulse",
                "orgId": 1,
                "folder": "SalesPulse",
                "folderUid": "salespulse",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_PATH},
            }
        ],
    }
    return yamltext.dump(document, header=GENERATED_HEADER)
