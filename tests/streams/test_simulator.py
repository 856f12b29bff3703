"""The simulator: reproducible, realistic, every type early, faults as asked."""

import argparse
import asyncio
import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kpis.events import (
    EVENT_TYPES,
    DealCreated,
    DealWon,
    Event,
    Feed,
    InvalidEvent,
    RejectReason,
    SubscriptionCancelled,
    decode_event,
    partition_key,
)
from streams.simulator.cli import register
from streams.simulator.company import default_company
from streams.simulator.errors import SimulatorError
from streams.simulator.faults import (
    DECODING_REASONS,
    Fault,
    FaultShares,
    Message,
    messages,
)
from streams.simulator.model import Simulation
from streams.simulator.runner import (
    Pacing,
    limit_events,
    parse_duration,
    send_messages,
)
from streams.simulator.scheduling import DEFAULT_RATES, Rates
from streams.simulator.sinks import FileSink, parse_line

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOPICS = {feed: f"test.{feed}" for feed in Feed}


def simulate(count: int, seed: int = 1) -> list[Event]:
    simulation = Simulation(default_company(), seed=seed, start=START)
    return list(itertools.islice(simulation.events(), count))


def faulty(count: int, shares: FaultShares, seed: int = 1) -> list[Message]:
    return list(messages(simulate(count, seed), shares, seed=seed))


class ListSink:
    """A sink that keeps what it is sent, in memory."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def start(self) -> None:
        """Do nothing."""

    async def send(self, message: Message) -> None:
        """Keep the message."""
        self.sent.append(message)

    async def stop(self) -> None:
        """Do nothing."""


def test_the_same_seed_gives_the_same_bytes() -> None:
    shares = FaultShares(duplicates=0.05, late=0.05, malformed=0.05)

    first = [m.value for m in faulty(3000, shares, seed=42)]
    again = [m.value for m in faulty(3000, shares, seed=42)]
    other = [m.value for m in faulty(3000, shares, seed=43)]

    assert first == again
    assert first != other


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_type_occurs_in_the_first_thousand_events(seed: int) -> None:
    types = {event.type for event in simulate(1000, seed)}

    assert types == set(EVENT_TYPES)


def test_events_come_in_time_order_and_valid() -> None:
    events = simulate(5000)

    times = [event.time for event in events]
    assert times == sorted(times)
    assert len({event.id for event in events}) == len(events)
    assert sum(event.time >= START for event in events) > 4000


def test_won_deals_were_created_earlier() -> None:
    created: dict[str, datetime] = {}
    won = 0
    for event in simulate(20000):
        if isinstance(event, DealCreated):
            created[event.data.deal_id] = event.time
        elif isinstance(event, DealWon):
            won += 1
            assert created[event.data.deal_id] <= event.time
            assert event.data.amount > event.data.cost >= 0

    assert won > 100


def test_mrr_is_zero_after_cancellation_and_positive_otherwise() -> None:
    latest: dict[str, Event] = {}
    for event in simulate(40000):
        if event.feed is Feed.SUBSCRIPTIONS:
            latest[event.data.subscription_id] = event  # type: ignore[union-attr]
            mrr = event.data.mrr  # type: ignore[union-attr]
            assert (mrr == 0) == isinstance(event, SubscriptionCancelled)

    cancelled = [e for e in latest.values() if isinstance(e, SubscriptionCancelled)]
    assert cancelled
    assert all(e.data.mrr == Decimal(0) for e in cancelled)


def test_reference_data_matches_the_events() -> None:
    company = default_company()
    reps = {rep.rep_id for rep in company.reps}
    teams = {team.name for team in company.teams}
    products = {product.product_id for product in company.products}

    assert {rep.team for rep in company.reps} == teams
    assert company.stage_weights()["proposal"] == Decimal("0.5")
    for event in simulate(5000):
        if isinstance(event, DealCreated):
            assert event.data.rep_id in reps
            assert event.data.product in products


def test_fault_shares_are_near_what_was_asked() -> None:
    shares = FaultShares(duplicates=0.04, late=0.02, malformed=0.03)

    sent = faulty(20000, shares)

    faults = Counter(message.fault for message in sent)
    assert 0.8 * 800 <= faults[Fault.DUPLICATE] <= 1.2 * 800
    assert 0.8 * 400 <= faults[Fault.LATE] <= 1.2 * 400
    assert 0.8 * 600 <= faults[Fault.MALFORMED] <= 1.2 * 600
    assert faults[None] + faults[Fault.LATE] == 20000


def test_no_faults_by_default() -> None:
    sent = faulty(2000, FaultShares())

    assert {message.fault for message in sent} == {None}


def test_malformed_messages_are_rejected_for_the_reason_they_carry() -> None:
    sent = faulty(5000, FaultShares(malformed=0.1))

    reasons: Counter[RejectReason] = Counter()
    for message in sent:
        if message.fault is Fault.MALFORMED:
            with pytest.raises(InvalidEvent) as caught:
                decode_event(message.value, feed=message.feed)
            assert caught.value.reason is message.reject
            reasons[caught.value.reason] += 1
        else:
            decode_event(message.value, feed=message.feed)

    assert set(reasons) == set(DECODING_REASONS)


def test_late_messages_go_out_hours_after_their_time() -> None:
    sent = faulty(5000, FaultShares(late=0.05))

    late = [m for m in sent if m.fault is Fault.LATE]
    assert late
    for message in late:
        event = decode_event(message.value)
        assert message.sent - event.time >= timedelta(hours=1)
        assert message.key == partition_key(event)


def test_duplicates_repeat_earlier_bytes() -> None:
    sent = faulty(5000, FaultShares(duplicates=0.05))

    seen: set[bytes] = set()
    for message in sent:
        if message.fault is Fault.DUPLICATE:
            assert message.value in seen
        seen.add(message.value)


def test_limits_by_count_and_by_simulated_time() -> None:
    simulation = Simulation(default_company(), seed=1, start=START)
    until = START + timedelta(days=2)

    events = list(limit_events(simulation.events(), until=until, max_events=10**6))

    assert events[-1].time <= until
    assert len(list(limit_events(simulate(500), max_events=123))) == 123


def test_pacing_maps_rate_and_simulated_time_to_wall_time() -> None:
    later = START + timedelta(hours=1)

    assert Pacing(rate=100).due(250, later, START) == 2.5
    assert Pacing(speedup=3600).due(0, later, START) == 1.0
    assert Pacing(rate=1, speedup=3600).due(5, later, START) == 5.0
    assert Pacing().due(10**6, later, START) == 0.0
    assert Pacing(speedup=60).due(0, START - timedelta(days=9), START) == 0.0
    with pytest.raises(SimulatorError, match="rate=-1"):
        Pacing(rate=-1)


def test_bad_options_name_the_option() -> None:
    with pytest.raises(SimulatorError, match=r"late=1\.5"):
        FaultShares(late=1.5)
    with pytest.raises(SimulatorError, match="duration='soon'"):
        parse_duration("soon")
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("90m") == timedelta(minutes=90)


async def test_a_stop_request_ends_the_run() -> None:
    sink = ListSink()
    stop = asyncio.Event()

    def stop_after_ten() -> None:
        if len(sink.sent) >= 10:
            stop.set()

    async def send(message: Message) -> None:
        sink.sent.append(message)
        stop_after_ten()

    sink.send = send  # type: ignore[method-assign]
    endless = messages(Simulation(default_company(), seed=1, start=START).events())

    summary = await send_messages(endless, sink, start=START, stop=stop)

    assert summary.messages == 10


async def test_the_file_holds_kafka_bytes_and_wraps_broken_messages(
    tmp_path: Path,
) -> None:
    sent = faulty(3000, FaultShares(duplicates=0.02, malformed=0.05))
    sink = FileSink(tmp_path / "events.jsonl", TOPICS)
    await sink.start()
    await send_messages(sent, sink, start=START)
    await sink.stop()

    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()

    assert len(lines) == len(sent)
    for line, message in zip(lines, sent, strict=True):
        record = parse_line(line)
        assert record.payload == message.value
        if message.reject is None:
            assert line == message.value
            assert record.topic is None
        else:
            assert record.topic == TOPICS[message.feed]
            assert record.key == message.key


def test_the_simulate_subcommand_writes_a_reproducible_file(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        args = parser.parse_args(
            [
                "simulate",
                "--file",
                str(tmp_path / name),
                "--events",
                "1500",
                "--rate",
                "0",
                "--seed",
                "9",
                "--start",
                "2026-03-02T09:00:00Z",
                "--malformed",
                "0.01",
            ]
        )
        assert args.handler(args) == 0
        outputs.append((tmp_path / name).read_bytes())

    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert 1500 < len(lines) < 1560
    types = {
        decode_event(line).type for line in lines if not line.startswith(b'{"topic"')
    }
    assert types == set(EVENT_TYPES)


def test_a_team_at_a_slower_pace_wins_fewer_deals() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def wins_by_team(rates: Rates) -> Counter[str]:
        company = default_company()
        team_of = {rep.rep_id: rep.team for rep in company.reps}
        simulation = Simulation(company, seed=3, start=start, rates=rates)
        created: dict[str, str] = {}
        wins: Counter[str] = Counter()
        for event in itertools.islice(simulation.events(), 20_000):
            if isinstance(event, DealCreated):
                created[event.data.deal_id] = team_of[event.data.rep_id]
            elif isinstance(event, DealWon) and event.data.deal_id in created:
                wins[created[event.data.deal_id]] += 1
        return wins

    usual = wins_by_team(DEFAULT_RATES)
    slowed = wins_by_team(replace(DEFAULT_RATES, team_pace=(("apac", 0.2),)))
    assert slowed["apac"] < usual["apac"] * 0.5
    assert slowed["na-accounts"] > usual["na-accounts"] * 0.7
