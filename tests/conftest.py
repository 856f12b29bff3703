"""Fixtures that start the real components for the test suite.

The session fixtures start a component the first time a test asks for it and
stop it, by its pid, when the session ends. A component that fails to start
makes the tests that need it error: nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from deploy.broker import Kafka
from deploy.monitoring import Alertmanager, Prometheus, write_prometheus_config
from deploy.services import Redis

MakePrometheus = Callable[..., Prometheus]
MakeAlertmanager = Callable[..., Alertmanager]


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    """Yield a single-node Kafka broker shared by the whole session."""
    broker = Kafka(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """Yield a Redis without persistence shared by the whole session."""
    server = Redis(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_prometheus(tmp_path: Path) -> Iterator[MakePrometheus]:
    """Yield a factory of started Prometheus servers, stopped after the test.

    The factory takes the keyword arguments of ``write_prometheus_config``
    (``scrape_targets``, ``rule_files``, ``alertmanager``, ``job``, the
    intervals, which default to 1s here) plus ``scrape_self=True`` to add the
    server's own /metrics to the targets.
    """
    started: list[Prometheus] = []

    def make(
        *,
        scrape_targets: Sequence[str] = (),
        scrape_self: bool = False,
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        **config: object,
    ) -> Prometheus:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        server = Prometheus(workdir, config_path=workdir / "prometheus.yml")
        own_target = [f"127.0.0.1:{server.port}"] if scrape_self else []
        write_prometheus_config(
            workdir / "prometheus.yml",
            scrape_targets=[*scrape_targets, *own_target],
            scrape_interval=scrape_interval,
            evaluation_interval=evaluation_interval,
            **config,  # type: ignore[arg-type]
        )
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def make_alertmanager(tmp_path: Path) -> Iterator[MakeAlertmanager]:
    """Yield a factory of started Alertmanagers, stopped after the test.

    The factory takes an optional ``config_path``; without one the
    Alertmanager routes every alert to a receiver that notifies nobody.
    """
    started: list[Alertmanager] = []

    def make(*, config_path: Path | None = None) -> Alertmanager:
        workdir = tmp_path / f"alertmanager-{len(started)}"
        server = Alertmanager(workdir, config_path=config_path)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()
