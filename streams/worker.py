"""Run one SalesPulse worker: topics, reference data, engine, exporter.

The worker runs on ``mode``, the service runtime of faust-streaming: its
``Worker`` starts the engine service, handles SIGINT and SIGTERM and stops the
services in order. The engine is a batch consumer rather than a Faust agent;
:mod:`streams.engine` says why.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from mode import Service, Worker
from prometheus_client import generate_latest

from kpis.errors import KpiError
from kpis.exposition import exposition
from kpis.reference import ReferenceData
from streams.config import Settings
from streams.engine import Engine
from streams.errors import StreamsError
from streams.exporter import (
    BasicAuth,
    ExpositionServer,
    Renderer,
    server_tls_context,
)
from streams.metrics import EngineMetrics
from streams.reference_store import ReferenceStore, connect
from streams.reference_watcher import ReferenceWatcher
from streams.topics import ensure_engine_topics

log = logging.getLogger(__name__)


class EngineService(Service):
    """The engine, its reference data and its exporter, as one service."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.metrics = EngineMetrics(
            settings.app_id, topics=list(settings.input_topics())
        )
        self.server = exposition_server(settings)
        self.watcher = ReferenceWatcher(
            settings.redis_url,
            prefix=settings.redis_prefix,
            on_change=self._reference,
            ssl_ca_certs=settings.redis_ssl_ca_certs,
        )
        self.engine: Engine | None = None
        self.renderer = Renderer(self._render, self.server)

    async def on_start(self) -> None:
        """Load the reference data, serve /metrics, join the group."""
        await self.watcher.start()
        self.engine = Engine(
            self.settings, self.watcher.current, self.metrics, self.renderer.changed
        )
        self.server.start()
        self.renderer.render_now()
        await self.engine.start()
        self.add_future(self._run_engine())
        self.add_future(self.renderer.run_idle())

    async def _run_engine(self) -> None:
        if self.engine is None:
            return
        try:
            await self.engine.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("the engine failed; stopping the worker")
            await self.crash_and_stop(error)

    async def crash_and_stop(self, error: BaseException) -> None:
        """Stop the whole worker after a failure of the engine.

        ``set_shutdown()`` does not stop a mode ``Worker``: the process went
        on serving a frozen /metrics and heartbeating, so its partitions
        stayed with it and were never read again. ``crash`` marks the worker
        crashed: it stops its services and exits with code 1.
        """
        await self.crash(error)

    async def on_stop(self) -> None:
        """Leave the group, stop watching Redis, stop serving."""
        if self.engine is not None:
            await self.engine.stop()
        await self.watcher.stop()
        self.server.stop()

    async def _reference(self, reference: ReferenceData) -> None:
        if self.engine is not None:
            await self.engine.set_reference(reference)
            log.info("reference data changed; sums rebuilt")

    def _render(self) -> bytes:
        now = datetime.now(UTC)
        health = generate_latest(self.metrics.registry)
        if self.engine is None:
            return health
        reference, ledger = self.engine.reference, self.engine.ledger
        text = exposition(ledger.samples(now, reference), reference, now)
        return text.encode() + health


def exposition_server(settings: Settings) -> ExpositionServer:
    """Return the exporter the settings describe, with its auth and TLS."""
    username = settings.exporter_basic_auth_username
    password = settings.exporter_basic_auth_password
    basic_auth = (
        BasicAuth(username, password.get_secret_value())
        if username is not None and password is not None
        else None
    )
    certfile, keyfile = settings.exporter_tls_certfile, settings.exporter_tls_keyfile
    tls = (
        server_tls_context(certfile, keyfile)
        if certfile is not None and keyfile is not None
        else None
    )
    return ExpositionServer(
        settings.exporter_host, settings.exporter_port, basic_auth=basic_auth, tls=tls
    )


async def preflight(settings: Settings) -> None:
    """Check what the worker needs before it starts: Kafka, its topics, Redis.

    Raises:
        StreamsError: Kafka or Redis does not answer, or a topic is wrong; the
            message names which and where.
        KpiError: the reference data in Redis does not load.
    """
    await ensure_engine_topics(settings)
    client = connect(settings.redis_url, ssl_ca_certs=settings.redis_ssl_ca_certs)
    try:
        await ReferenceStore(client, prefix=settings.redis_prefix).load()
    finally:
        await client.aclose()


def run_worker(settings: Settings) -> int:
    """Run a worker until SIGINT or SIGTERM; return the process exit code."""
    try:
        asyncio.run(preflight(settings))
    except (StreamsError, KpiError) as error:
        log.error("the worker cannot start: %s", error)
        return 1
    worker = Worker(
        EngineService(settings),
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
