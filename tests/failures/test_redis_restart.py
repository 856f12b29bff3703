"""Redis stopped and started again while a worker folds a stream.

Redis holds only the reference data: while it is down the worker keeps the
last data it loaded and goes on folding events; once Redis is back, a change
of the reference data reaches ``/metrics`` as before. The worker never exits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from deploy.broker import Kafka
from deploy.services import Redis, free_port
from kpis.reference import ReferenceData
from streams.reference_store import ReferenceStore
from tests.failures.logs import first_lines
from tests.scrape import scrape, wait_for
from tests.streams.engine_harness import (
    make_scenario,
    produce,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration

# Several times the watcher's poll interval (0.5 s): it has noticed.
OUTAGE_SECONDS = 3.0
NEW_TARGET = Decimal("654321.09")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Redis]:
    """Yield a persistent Redis of this test's own, on a port it restarts on."""
    server = Redis(tmp_path / "redis", port=free_port(), persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_worker_folds_on_while_redis_is_down(
    kafka: Kafka, own_redis: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, own_redis, tmp_path, events=2_000, seed=13)
    half = len(scenario.messages) // 2
    produce(replace(scenario, messages=scenario.messages[:half]))
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        wait_until_equal([worker], replace(scenario, log=first_lines(scenario, half)))
        consumed_before = _consumed(worker.metrics_url)

        own_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        produce(replace(scenario, messages=scenario.messages[half:]))
        # Folded with the reference data loaded before the outage.
        wait_until_equal([worker], scenario)
        assert _consumed(worker.metrics_url) > consumed_before
        assert worker.is_running(), "the worker exited while Redis was down"

        own_redis.start()
        prefix = scenario.settings["SALESPULSE_REDIS_PREFIX"]
        month = datetime.now(UTC).strftime("%Y-%m")
        changed = asyncio.run(_set_target(own_redis.url, prefix, month))
        wait_for(
            lambda: _apac_month_target(worker.metrics_url) == float(NEW_TARGET),
            timeout=30,
            what="the target set after Redis came back",
        )
        wait_until_equal([worker], replace(scenario, reference=changed))
        assert worker.is_running()
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    assert "Traceback" not in log


async def _set_target(url: str, prefix: str, month: str) -> ReferenceData:
    """Set APAC's target of ``month``; return the whole reference data stored."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        store = ReferenceStore(client, prefix=prefix)
        await store.set_target("team", "apac", month, NEW_TARGET)
        _, reference = await store.load()
    finally:
        await client.aclose()
    return reference


def _consumed(url: str) -> float:
    return sum(
        value
        for (name, _), value in scrape(url).items()
        if name == "salespulse_events_consumed_total"
    )


def _apac_month_target(url: str) -> float | None:
    for (name, labels), value in scrape(url).items():
        found = dict(labels)
        if (
            name == "salespulse_target_amount"
            and found.get("scope") == "team"
            and found.get("team") == "apac"
            and found.get("window") == "month_to_date"
        ):
            return value
    return None
