"""Run Prometheus and Alertmanager from Debian's packages on loopback.

Example::

    with Prometheus(Path("/tmp/prometheus")) as prometheus:
        print(prometheus.url)
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from deploy.services import DeployError, Service, ServiceError, http_status

logger = logging.getLogger(__name__)


class _ConfiguredServer(Service):
    """A server of the Prometheus project: a config file and a web API."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        config_path: Path | None = None,
    ) -> None:
        """Describe the server.

        Args:
            workdir: folder for its data and log.
            port: TCP port on 127.0.0.1; a free one when None.
            config_path: its configuration; when None, a minimal one is
                written into ``workdir``.
        """
        super().__init__(workdir, port)
        self.config_path = Path(config_path) if config_path else None

    @property
    def url(self) -> str:
        """Return the base URL of the web API."""
        return f"http://127.0.0.1:{self.port}"

    def _probe(self, remaining: float) -> str | None:
        return _probe_ready_endpoint(self.url)


class Prometheus(_ConfiguredServer):
    """Debian's Prometheus server, with its lifecycle API enabled.

    Without a configuration it scrapes only itself.
    """

    component = "prometheus"

    def reload(self) -> None:
        """Ask the running server to read its configuration and rules again."""
        status = http_status(f"{self.url}/-/reload", method="POST")
        if status != 200:
            raise ServiceError(
                self.component, f"reload answered HTTP {status}", self.log_path
            )
        logger.info("reloaded component=%s pid=%s", self.component, self.pid)

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        if self.config_path is None:
            self.config_path = self.workdir / "prometheus.yml"
            write_prometheus_config(
                self.config_path,
                scrape_targets=[f"127.0.0.1:{self.port}"],
                job="prometheus",
            )

    def _command(self) -> list[str]:
        return [
            "prometheus",
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]


class Alertmanager(_ConfiguredServer):
    """Debian's Prometheus Alertmanager, a single instance without clustering.

    Without a configuration it routes every alert to a receiver that notifies
    nobody.
    """

    component = "alertmanager"

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        if self.config_path is None:
            self.config_path = self.workdir / "alertmanager.yml"
            silent = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
            self.config_path.write_text(yaml.safe_dump(silent, sort_keys=False))

    def _command(self) -> list[str]:
        return [
            "prometheus-alertmanager",
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]


def _probe_ready_endpoint(base_url: str) -> str | None:
    """Return None when GET /-/ready answers 200, else what it answered."""
    try:
        status = http_status(f"{base_url}/-/ready")
    except OSError as error:
        return f"GET /-/ready failed: {error}"
    return None if status == 200 else f"GET /-/ready answered HTTP {status}"


def write_prometheus_config(
    path: Path,
    *,
    scrape_targets: Sequence[str],
    job: str = "salespulse",
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
    scrape_interval: str = "5s",
    evaluation_interval: str = "5s",
    scheme: str = "http",
    basic_auth: tuple[str, str] | None = None,
    tls_ca_file: Path | None = None,
) -> None:
    """Write a Prometheus configuration file.

    Args:
        path: file to write.
        scrape_targets: ``host:port`` of each endpoint serving /metrics.
        job: the ``job`` label of the scraped series.
        rule_files: recording and alerting rule files, made absolute.
        alertmanager: ``host:port`` or base URL of the Alertmanager to notify,
            or None to send alerts nowhere.
        scrape_interval: how often targets are scraped (a Prometheus duration).
        evaluation_interval: how often rules are evaluated.
        scheme: ``http``, or ``https`` for exporters that serve TLS.
        basic_auth: the user name and password the targets require, or None.
            The file then holds the password: it is written readable by its
            owner only.
        tls_ca_file: PEM file of the CAs that sign the targets' certificates;
            the system's CAs when None.
    """
    if scheme not in ("http", "https"):
        raise DeployError(f"scrape scheme {scheme!r} must be http or https")
    for target in scrape_targets:
        if "://" in target or "/" in target:
            raise DeployError(
                f"scrape target {target!r} must be host:port, without scheme or path"
            )
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": [str(Path(rule_file).resolve()) for rule_file in rule_files],
        "scrape_configs": [
            _scrape_config(job, scrape_targets, scheme, basic_auth, tls_ca_file)
        ],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [_alertmanager_entry(alertmanager)]}
    path = Path(path)
    if basic_auth is not None:
        path.touch(mode=0o600)
        path.chmod(0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _scrape_config(
    job: str,
    targets: Sequence[str],
    scheme: str,
    basic_auth: tuple[str, str] | None,
    tls_ca_file: Path | None,
) -> dict[str, Any]:
    """Return the one scrape job of the configuration."""
    scrape: dict[str, Any] = {"job_name": job}
    if scheme != "http":
        scrape["scheme"] = scheme
    if basic_auth is not None:
        username, password = basic_auth
        scrape["basic_auth"] = {"username": username, "password": password}
    if tls_ca_file is not None:
        scrape["tls_config"] = {"ca_file": str(Path(tls_ca_file).resolve())}
    scrape["static_configs"] = [{"targets": list(targets)}]
    return scrape


def _alertmanager_entry(address: str) -> dict[str, Any]:
    """Turn ``host:port`` or a base URL into an ``alertmanagers`` entry."""
    if "://" not in address:
        return {"static_configs": [{"targets": [address]}]}
    parts = urllib.parse.urlsplit(address)
    if not parts.netloc:
        raise DeployError(f"alertmanager address {address!r} has no host:port")
    entry: dict[str, Any] = {
        "scheme": parts.scheme,
        "static_configs": [{"targets": [parts.netloc]}],
    }
    if parts.path.strip("/"):
        entry["path_prefix"] = parts.path
    return entry
