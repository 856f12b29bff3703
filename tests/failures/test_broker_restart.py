"""The broker stopped and started again while a worker folds a stream.

The worker must ride out the outage (reconnect, rejoin its group, go on from
its committed offsets) and end with ``/metrics`` equal to the replay of the
whole log: nothing lost while the broker was away, nothing counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.broker import Kafka
from deploy.services import Redis, free_port
from tests.failures.logs import first_lines
from tests.streams.engine_harness import (
    make_scenario,
    produce,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration

# Long enough for the worker's fetches, commits and heartbeats to fail.
OUTAGE_SECONDS = 5.0


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[Kafka]:
    """Yield a broker of this test's own, on fixed ports it can restart on."""
    broker = Kafka(
        tmp_path / "kafka",
        port=free_port(),
        controller_port=free_port(),
        heap_max="512m",
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_a_worker_rides_out_a_broker_restart(
    own_kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = make_scenario(own_kafka, redis_server, tmp_path, events=2_000, seed=3)
    half = len(scenario.messages) // 2
    produce(replace(scenario, messages=scenario.messages[:half]))
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        wait_until_equal([worker], replace(scenario, log=first_lines(scenario, half)))
        own_kafka.stop()
        time.sleep(OUTAGE_SECONDS)
        assert worker.is_running(), "the worker exited while the broker was down"
        own_kafka.start()
        produce(replace(scenario, messages=scenario.messages[half:]))
        wait_until_equal([worker], scenario)
        assert worker.is_running()
    finally:
        worker.stop()
