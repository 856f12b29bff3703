"""Run one SalesPulse worker: topics, exporter, then the Faust worker."""

from __future__ import annotations

import asyncio
import logging

import faust

from streams.app import create_app
from streams.config import Settings
from streams.exporter import start_exporter
from streams.metrics import EngineMetrics
from streams.topics import ensure_engine_topics

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> int:
    """Run a worker until SIGINT or SIGTERM; return the process exit code."""
    asyncio.run(ensure_engine_topics(settings))
    metrics = EngineMetrics(settings.app_id)
    exporter = start_exporter(
        metrics.registry, settings.exporter_host, settings.exporter_port
    )
    app = create_app(settings, metrics)
    worker = faust.Worker(
        app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    try:
        # Faust installs its own SIGINT and SIGTERM handlers and stops cleanly.
        worker.execute_from_commandline()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        exporter.stop()
    return 0
