"""A worker killed with SIGKILL while its group rebalances.

Two workers share the partitions and fold a stream; a third joins, which
starts a rebalance, and one of the first two is killed as soon as it has
given up its partitions for it. The survivors must take every partition
over from the changelog and end equal to the replay.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from tests.scrape import scrape, values_of, wait_for
from tests.streams.engine_harness import (
    make_scenario,
    produce,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration

REVOKED = "partitions revoked:"


def test_survivors_of_a_sigkill_during_a_rebalance_equal_the_replay(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(kafka, redis_server, tmp_path, events=3_000, seed=17)
    folder = tmp_path / "workers"
    first = start_worker(scenario, folder, name="first")
    second = start_worker(scenario, folder, name="second")
    third: Worker | None = None
    try:
        wait_for(
            lambda: bool(_owned(first)) and bool(_owned(second)),
            timeout=60,
            what="both workers to own partitions",
        )
        produce(scenario)
        wait_until_equal([first, second], scenario)

        # The same log again, so that the rebalance falls amid traffic.
        produce(scenario, order_seed=3)
        revocations = _revocations(first)
        third = start_worker(scenario, folder, name="third")
        wait_for(
            lambda: _revocations(first) > revocations,
            timeout=30,
            what="the first worker to give up its partitions",
        )
        first.kill()
        wait_until_equal([second, third], scenario)
        assert _owned(second) | _owned(third) == set(range(8))
        assert not _owned(second) & _owned(third)
    finally:
        first.stop()
        second.stop()
        if third is not None:
            third.stop()


def _revocations(worker: Worker) -> int:
    return worker.log_path.read_text(errors="replace").count(REVOKED)


def _owned(worker: Worker) -> set[int]:
    owned = values_of(
        scrape(worker.metrics_url), "salespulse_partition_owned", "partition"
    )
    return {int(partition) for partition, flag in owned.items() if flag == 1}
