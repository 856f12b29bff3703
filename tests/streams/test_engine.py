"""The live engine against the real broker and Redis, judged by the replay.

Every series on /metrics (summed over the workers, as Prometheus does) must
equal the batch replay's exposition of the same log, exactly: with
duplicates, late events, malformed messages and shuffled arrival; with two
workers sharing eight partitions; after one of them is killed with SIGKILL;
and after a worker restarts from the changelog.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from deploy.broker import Kafka
from deploy.services import Redis
from streams.reference_store import ReferenceStore
from tests.scrape import scrape, values_of, wait_for
from tests.streams.engine_harness import (
    make_scenario,
    produce,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration


def test_one_worker_equals_the_replay(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path)
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        _, want = wait_until_equal([worker], scenario)
    finally:
        worker.stop()
    assert len(want) > 500
    revenue = [v for (name, _), v in want.items() if name == "salespulse_won_revenue"]
    assert sum(revenue) > 0


def test_two_workers_add_up_to_the_replay_and_survive_a_sigkill(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path, seed=11)
    first = start_worker(scenario, tmp_path / "workers", name="first")
    second = start_worker(scenario, tmp_path / "workers", name="second")
    try:
        wait_for(
            lambda: bool(_owned(first)) and bool(_owned(second)),
            timeout=60,
            what="both workers to own partitions",
        )
        assert _owned(first) | _owned(second) == set(range(8))
        assert not _owned(first) & _owned(second)
        produce(scenario)
        wait_until_equal([first, second], scenario)

        # Mid-stream: the same log again (every message a duplicate), and one
        # worker killed while it folds them.
        produce(scenario, order_seed=2)
        first.kill()
        wait_until_equal([second], scenario)
        assert _owned(second) == set(range(8))

        # A worker started again recovers its partitions from the changelog.
        third = start_worker(scenario, tmp_path / "workers", name="third")
        try:
            wait_for(
                lambda: _owned(third) != set(),
                timeout=60,
                what="the restarted worker to take partitions",
            )
            wait_until_equal([second, third], scenario)
        finally:
            third.stop()
    finally:
        first.stop()
        second.stop()


def test_a_killed_worker_recovers_its_state_from_the_changelog(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path, seed=5)
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers", name="before")
    try:
        wait_until_equal([worker], scenario)
    finally:
        worker.kill()
    restarted = start_worker(scenario, tmp_path / "workers", name="after")
    try:
        wait_until_equal([restarted], scenario)
        restored = scrape(restarted.metrics_url)
        records = values_of(restored, "salespulse_recovery_records", "partition")
        assert sum(records.values()) > 0
    finally:
        restarted.stop()


def test_a_target_set_in_redis_is_exported_at_once(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path, events=200)
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        this_month = datetime.now(UTC).strftime("%Y-%m")
        prefix = scenario.settings["SALESPULSE_REDIS_PREFIX"]
        began = time.monotonic()
        asyncio.run(_set_target(redis_server.url, prefix, this_month, "123456.78"))

        def exported() -> float | None:
            for (name, labels), value in scrape(worker.metrics_url).items():
                found = dict(labels)
                if (
                    name == "salespulse_target_amount"
                    and found.get("scope") == "team"
                    and found.get("team") == "apac"
                    and found.get("window") == "month_to_date"
                ):
                    return value
            return None

        wait_for(lambda: exported() == 123456.78, timeout=10, what="the target")
        print(f"target exported {time.monotonic() - began:.3f} s after the change")
    finally:
        worker.stop()


async def _set_target(url: str, prefix: str, period: str, amount: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        await ReferenceStore(client, prefix=prefix).set_target(
            "team", "apac", period, Decimal(amount)
        )
    finally:
        await client.aclose()


def _owned(worker: object) -> set[int]:
    samples = scrape(worker.metrics_url)  # type: ignore[attr-defined]
    owned = values_of(samples, "salespulse_partition_owned", "partition")
    return {int(partition) for partition, flag in owned.items() if flag == 1}
