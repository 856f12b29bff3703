"""Events dated years ahead and decades back, mixed into normal traffic.

Whole deal histories are copied under new deal ids and event ids and moved
thirty years into the past or five years into the future; otherwise they are
valid. Neither the worker nor the replay rejects them (there is no horizon
for the future, and the late-event horizon is off by default).

- Decades back: both sides fold them into their own, long closed periods;
  the exposition equals the replay's.
- Years ahead: the live worker folds an event when it arrives, whatever its
  date; the replay as of now leaves out every event dated after now. A far
  future deal that is still open therefore counts in the worker's open
  pipeline (``open_deals``, ``pipeline_amount`` and what derives from them,
  which are states, not windows) and not in the replay's. The windowed KPIs
  agree. This test pins that behaviour: the worker equals a fold of every
  event, and differs from the replay as of now in state KPIs only.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import Feed, decode_event, encode_event, partition_key
from kpis.exposition import exposition
from kpis.state import KpiState
from streams.replay import ReplayResult, decoded
from streams.simulator.faults import Message
from streams.simulator.sinks import FileSink
from tests.scrape import wait_for
from tests.streams.engine_harness import (
    SUMMED,
    Scenario,
    Series,
    expected,
    kpis_of,
    make_scenario,
    parse,
    produce,
    scrape_text,
    start_worker,
    wait_until_equal,
)

pytestmark = pytest.mark.integration

DEALS_MOVED = 25
FUTURE = timedelta(days=5 * 365)
PAST = -timedelta(days=30 * 365)
# The families of open deals: states as of now, not sums over a window.
OPEN_PIPELINE = ("salespulse_open_deals", "salespulse_pipeline_")


def test_events_decades_back_fold_into_their_own_periods(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = _with_moved_deals(
        make_scenario(kafka, redis_server, tmp_path, events=2_000, seed=23), PAST
    )
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        wait_until_equal([worker], scenario)
        assert worker.is_running()
    finally:
        worker.stop()


def test_events_years_ahead_are_folded_live_but_not_by_the_replay(
    kafka: Kafka, redis_server: Redis, tmp_path: Path
) -> None:
    scenario = _with_moved_deals(
        make_scenario(kafka, redis_server, tmp_path, events=2_000, seed=29), FUTURE
    )
    produce(scenario)
    worker = start_worker(scenario, tmp_path / "workers")
    try:
        wait_for(
            lambda: _live(worker) == _fold_of_everything(scenario),
            timeout=90,
            what="the worker to equal a fold of every event, future ones too",
        )
        assert worker.is_running()
        live = _live(worker)
    finally:
        worker.stop()
    replayed = expected(scenario, datetime.now(UTC))
    replayed = {key: value for key, value in replayed.items() if key[0] in SUMMED}
    differing = {
        key[0]
        for key in set(live) | set(replayed)
        if live.get(key) != replayed.get(key)
    }
    print("families differing from the replay:", sorted(differing))
    assert differing, "the future deals should be in the worker's open pipeline"
    assert all(name.startswith(OPEN_PIPELINE) for name in differing), differing


def _live(worker: Worker) -> dict[Series, Decimal]:
    return kpis_of(parse(scrape_text(worker)), set(SUMMED))


def _fold_of_everything(scenario: Scenario) -> dict[Series, Decimal]:
    """Return the KPIs of every valid event of the log, whatever its date."""
    settings = scenario.parsed
    feeds = {settings.topic_for(feed): feed for feed in Feed}
    state = KpiState(scenario.reference)
    with scenario.log.open("rb") as log:
        events = decoded(log, feeds, settings.max_event_bytes, ReplayResult())
        state.fold_all(events)
    now = datetime.now(UTC)
    text = exposition(state.samples(now), scenario.reference, now)
    return kpis_of(parse(text), set(SUMMED))


def _with_moved_deals(scenario: Scenario, shift: timedelta) -> Scenario:
    """Add moved copies of a few deals to the scenario's messages and log."""
    tag = "future" if shift > timedelta(0) else "past"
    moved = _moved_deals(scenario.messages, shift, tag)
    scenario = replace(scenario, messages=[*scenario.messages, *moved])
    asyncio.run(_rewrite_log(scenario))
    return scenario


def _moved_deals(messages: list[Message], shift: timedelta, tag: str) -> list[Message]:
    """Copy the histories of a few deals under new ids, ``shift`` away in time."""
    histories: dict[str, list[Message]] = {}
    for message in messages:
        if message.feed is Feed.DEALS and message.reject is None:
            deal_id = message.key.decode()
            histories.setdefault(deal_id, []).append(message)
    chosen = sorted(histories)[:DEALS_MOVED]
    moved = []
    for deal_id in chosen:
        for message in histories[deal_id]:
            event = decode_event(message.value, feed=Feed.DEALS)
            data = msgspec.structs.replace(event.data, deal_id=f"{deal_id}-{tag}")
            copy = msgspec.structs.replace(
                event, id=f"{event.id}-{tag}", time=event.time + shift, data=data
            )
            moved.append(
                Message(
                    Feed.DEALS, partition_key(copy), encode_event(copy), message.sent
                )
            )
    return moved


async def _rewrite_log(scenario: Scenario) -> None:
    settings = scenario.parsed
    sink = FileSink(scenario.log, {feed: settings.topic_for(feed) for feed in Feed})
    await sink.start()
    for message in scenario.messages:
        await sink.send(message)
    await sink.stop()
