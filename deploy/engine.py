"""Run SalesPulse's own processes, a worker and the simulator, as services."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from deploy.services import Service, http_status

REPOSITORY = Path(__file__).resolve().parent.parent


class _EngineProcess(Service):
    """A ``salespulse`` subcommand run with settings from its environment."""

    def __init__(
        self,
        workdir: Path,
        port: int | None,
        arguments: Sequence[str],
        settings: Mapping[str, str],
    ) -> None:
        super().__init__(workdir, port)
        self.arguments = list(arguments)
        self.settings = dict(settings)

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "streams.cli", *self.arguments]

    def _environment(self) -> dict[str, str]:
        environment = {**os.environ, **self.settings}
        # The repository first, so that a source tree runs as it is.
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")])
        )
        return environment


class Worker(_EngineProcess):
    """A SalesPulse worker; ready once its exporter serves ``/metrics``."""

    component = "worker"
    default_timeout = 60.0

    def __init__(
        self,
        workdir: Path,
        settings: Mapping[str, str],
        *,
        port: int | None = None,
        name: str = "worker",
    ) -> None:
        """Describe a worker.

        Args:
            workdir: folder of its log.
            settings: ``SALESPULSE_*`` variables; the exporter's port is added.
            port: the exporter's port; a free one when None.
            name: the log file's name, to tell several workers apart.
        """
        super().__init__(workdir, port, ["worker"], settings)
        self.settings["SALESPULSE_EXPORTER_PORT"] = str(self.port)
        self.settings.setdefault("SALESPULSE_EXPORTER_HOST", "127.0.0.1")
        self.name = name

    @property
    def log_path(self) -> Path:
        """Return the worker's own log file."""
        return self.workdir / f"{self.name}.log"

    @property
    def metrics_url(self) -> str:
        """Return the URL Prometheus scrapes."""
        return f"http://127.0.0.1:{self.port}/metrics"

    def _probe(self, remaining: float) -> str | None:
        try:
            status = http_status(self.metrics_url)
        except OSError as error:  # a busy worker may not answer in time yet
            return f"/metrics did not answer: {error}"
        return None if status == 200 else f"/metrics answered {status}"


class Simulator(_EngineProcess):
    """The event simulator writing to Kafka; ready as soon as it runs."""

    component = "simulator"

    def __init__(
        self, workdir: Path, settings: Mapping[str, str], arguments: Sequence[str]
    ) -> None:
        super().__init__(workdir, 0, ["simulate", *arguments], settings)

    def _ports(self) -> list[int]:
        return []

    def _probe(self, remaining: float) -> str | None:
        return None
