"""The reference data in a real Redis: the store, the watcher and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis.asyncio

from deploy.services import Redis, free_port
from kpis.periods import Calendar
from kpis.reference import DEFAULT_STAGE_WEIGHTS, ReferenceData, ReferenceError, Rep
from streams.reference_cli import register
from streams.reference_store import (
    ReferenceStore,
    ReferenceStoreError,
)
from streams.reference_watcher import ReferenceWatcher

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 10.0
JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def prefix() -> str:
    """Return a key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex}:"


@pytest.fixture
async def client(redis_server: Redis) -> AsyncIterator[redis.asyncio.Redis]:
    """Yield a client of the session's Redis, closed after the test."""
    connection = redis.asyncio.Redis.from_url(redis_server.url)
    yield connection
    await connection.aclose()


@pytest.fixture
def store(client: redis.asyncio.Redis, prefix: str) -> ReferenceStore:
    """Return a store under the test's own prefix."""
    return ReferenceStore(client, prefix=prefix)


async def wait_until(
    condition: Callable[[], bool], what: str, deadline: float = DEADLINE_SECONDS
) -> float:
    """Wait until ``condition`` holds and return the seconds it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > deadline:
            raise AssertionError(f"{what}: not within {deadline:g} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


# The store


async def test_an_empty_store_loads_the_defaults_at_version_0(
    store: ReferenceStore,
) -> None:
    assert await store.load() == (0, ReferenceData())


async def test_reps_round_trip(store: ReferenceStore) -> None:
    await store.set_reps(
        [Rep("r1", "Ana", "north", "emea"), Rep("r2", "Bo", "s", "us")]
    )
    await store.set_rep("r1", team="south")
    await store.set_rep("r3")
    version = await store.remove_rep("r2")

    loaded_version, data = await store.load()
    assert (loaded_version, version) == (4, 4)
    assert dict(data.reps) == {
        "r1": Rep("r1", "Ana", "south", "emea"),
        "r3": Rep("r3", "r3", "unassigned", "unassigned"),
    }


async def test_targets_round_trip(store: ReferenceStore) -> None:
    await store.set_target("company", "", "2026-03", "500000")
    await store.set_target("team", "north", "FY2026-Q1", Decimal("150000.50"))
    await store.set_target("rep", "r1", "2026-03", 40000)
    await store.set_target("rep", "r1", "2026-03", 45000)
    await store.delete_target("team", "north", "FY2026-Q1")

    _, data = await store.load()
    assert dict(data.targets) == {
        ("company", "", "2026-03"): Decimal("500000"),
        ("rep", "r1", "2026-03"): Decimal("45000"),
    }


async def test_stage_weights_round_trip(store: ReferenceStore) -> None:
    await store.set_stage_weight("proposal", "0.6")
    _, data = await store.load()
    assert data.stage_weights == {**DEFAULT_STAGE_WEIGHTS, "proposal": Decimal("0.6")}

    await store.set_stage_weights({"open": "0.3", "verbal": Decimal("0.9")})
    _, data = await store.load()
    assert data.stage_weights == {"open": Decimal("0.3"), "verbal": Decimal("0.9")}

    await store.set_stage_weights({})
    _, data = await store.load()
    assert data.stage_weights == {}

    await store.reset_stage_weights()
    _, data = await store.load()
    assert data.stage_weights == DEFAULT_STAGE_WEIGHTS


async def test_rates_round_trip_and_replace_a_rate_of_the_same_instant(
    store: ReferenceStore,
) -> None:
    await store.set_rate("EUR", JANUARY, "1.08")
    await store.set_rate("EUR", MARCH, "1.10")
    await store.set_rate("EUR", "2026-03-01T01:00:00+01:00", "1.12")
    await store.set_rate("GBP", JANUARY, Decimal("1.27"))

    _, data = await store.load()
    assert dict(data.rates.rates) == {
        "EUR": ((JANUARY, Decimal("1.08")), (MARCH, Decimal("1.12"))),
        "GBP": ((JANUARY, Decimal("1.27")),),
    }


async def test_settings_round_trip(store: ReferenceStore) -> None:
    await store.set_calendar(timezone="Europe/Berlin")
    await store.set_calendar(fiscal_year_start_month=4)
    await store.set_reporting_currency("EUR")
    await store.set_gross_margin(None, "0.7")
    await store.set_gross_margin("analytics", Decimal("0.9"))
    await store.set_campaign_channel("spring-launch", "web")

    _, data = await store.load()
    assert data.calendar == Calendar("Europe/Berlin", 4)
    assert data.rates.reporting_currency == "EUR"
    assert data.gross_margin == Decimal("0.7")
    assert dict(data.gross_margin_by_product) == {"analytics": Decimal("0.9")}
    assert dict(data.campaign_channels) == {"spring-launch": "web"}


async def test_import_then_export_gives_the_normalised_document(
    store: ReferenceStore,
) -> None:
    document = {
        "reporting_currency": "EUR",
        "timezone": "Europe/Paris",
        "reps": [{"rep_id": "r1", "name": "Ana", "team": "t", "region": "west"}],
        "targets": [{"scope": "rep", "key": "r1", "period": "2026-05", "amount": 9}],
        "exchange_rates": {"USD": [{"from": "2026-01-01T00:00:00Z", "rate": 0.92}]},
        "ltv_cap_months": 48,
    }
    await store.set_target("company", "", "2026-01", "1")

    version = await store.import_document(document)

    assert version == 2
    expected = ReferenceData.from_mapping(document)
    assert await store.load() == (2, expected)
    assert await store.export_document() == expected.to_mapping()


async def test_a_write_that_changes_nothing_keeps_the_version(
    store: ReferenceStore,
) -> None:
    await store.set_target("team", "north", "2026-03", "100")
    assert await store.set_target("team", "north", "2026-03", "100") == 1
    assert await store.version() == 1


async def test_each_change_is_published_with_its_version(
    client: redis.asyncio.Redis, store: ReferenceStore, prefix: str
) -> None:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(f"{prefix}changes")
    try:
        await store.set_rep("r1")
        await store.set_rep("r2")
        announced: list[bytes] = []
        for _ in range(50):  # bounded: a missing message fails the test
            message = await pubsub.get_message(timeout=0.2)
            if message is not None:
                announced.append(message["data"])
            if len(announced) == 2:
                break
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert announced == [b"1", b"2"]


INVALID_CHANGES: list[tuple[str, Callable[[ReferenceStore], Awaitable[int]]]] = [
    ("targets[1].amount", lambda s: s.set_target("rep", "r1", "2026-03", "-5")),
    ("targets[1].period", lambda s: s.set_target("rep", "r1", "2026-W10", "5")),
    ("targets[1].scope", lambda s: s.set_target("region", "x", "2026-03", "5")),
    ("targets[1].key", lambda s: s.set_target("company", "acme", "2026-03", "5")),
    ("stage_weights.proposal", lambda s: s.set_stage_weight("proposal", "1.5")),
    ("exchange_rates.EUR[0].rate", lambda s: s.set_rate("EUR", JANUARY, "0")),
    ("exchange_rates.EUR[0].from", lambda s: s.set_rate("EUR", "2026-01-01", "1")),
    ("exchange_rates.XXY", lambda s: s.set_rate("XXY", JANUARY, "1")),
    ("timezone", lambda s: s.set_calendar(timezone="Mars/Olympus")),
    ("fiscal_year_start_month", lambda s: s.set_calendar(fiscal_year_start_month=13)),
    ("reporting_currency", lambda s: s.set_reporting_currency("EURO")),
    ("gross_margin", lambda s: s.set_gross_margin(None, "80")),
    ("gross_margin_by_product.x", lambda s: s.set_gross_margin("x", "-0.1")),
    ("campaign_channels.c", lambda s: s.set_campaign_channel("c", "pigeon")),
    ("reps", lambda s: s.remove_rep("nobody")),
    ("targets", lambda s: s.delete_target("rep", "nobody", "2026-03")),
    ("ltv_cap_months", lambda s: s.import_document({"ltv_cap_months": 0})),
]


@pytest.mark.parametrize(
    ("field", "change"), INVALID_CHANGES, ids=[field for field, _ in INVALID_CHANGES]
)
async def test_an_invalid_value_names_its_field_and_writes_nothing(
    store: ReferenceStore,
    field: str,
    change: Callable[[ReferenceStore], Awaitable[int]],
) -> None:
    await store.set_target("company", "", "2026-03", "1000")
    before = await store.export_document()

    with pytest.raises(ReferenceError) as raised:
        await change(store)

    assert str(raised.value).startswith(field), str(raised.value)
    assert await store.version() == 1
    assert await store.export_document() == before


async def test_data_written_by_hand_is_reported_with_its_key(
    client: redis.asyncio.Redis, store: ReferenceStore, prefix: str
) -> None:
    await client.hset(f"{prefix}reps", "r1", "{not json")
    with pytest.raises(ReferenceError, match=f"{prefix}reps r1: .* is not JSON"):
        await store.load()


async def test_an_unreachable_redis_is_named() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    client = redis.asyncio.Redis.from_url(url)
    try:
        with pytest.raises(ReferenceStoreError, match=f"Redis at {url} does not"):
            await ReferenceStore(client).load()
    finally:
        await client.aclose()


# The watcher


async def test_the_watcher_sees_a_target_change_within_a_second(
    redis_server: Redis, store: ReferenceStore, prefix: str
) -> None:
    await store.set_target("rep", "r1", "2026-03", "1000")
    seen: list[ReferenceData] = []
    async with ReferenceWatcher(redis_server.url, seen.append, prefix=prefix) as w:
        assert w.current.targets == {("rep", "r1", "2026-03"): Decimal("1000")}

        await store.set_target("rep", "r1", "2026-03", "2500")
        seconds = await wait_until(
            lambda: w.current.targets[("rep", "r1", "2026-03")] == Decimal("2500"),
            "the new target",
        )

    print(f"target change reached the watcher in {seconds * 1000:.1f} ms")
    assert [data.targets for data in seen] == [
        {("rep", "r1", "2026-03"): Decimal("2500")}
    ]


async def test_the_watcher_polls_the_version_when_no_message_comes(
    redis_server: Redis, client: redis.asyncio.Redis, store: ReferenceStore, prefix: str
) -> None:
    async with ReferenceWatcher(redis_server.url, prefix=prefix) as watcher:
        await store.set_rep("r1")
        await wait_until(lambda: watcher.version == 1, "the announced change")

        # A change whose announcement is lost: the version moves in silence.
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(f"{prefix}reps", "r2", json.dumps({"team": "north"}))
            pipe.incr(f"{prefix}version")
            await pipe.execute()
        await wait_until(lambda: "r2" in watcher.current.reps, "the silent change")
    assert watcher.version == 2


async def test_the_watcher_keeps_its_data_while_redis_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streams.reference_store")
    server = Redis(tmp_path, persistent=True)
    server.start()
    try:
        await _restart_under_the_watcher(server)
    finally:
        server.stop()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert server.url in warnings[0].getMessage()


async def _restart_under_the_watcher(server: Redis) -> None:
    """Stop and restart ``server`` under a watcher, changing a target after."""
    writer = redis.asyncio.Redis.from_url(server.url)
    try:
        store = ReferenceStore(writer)
        await store.set_target("team", "north", "2026-03", "100")
        async with ReferenceWatcher(server.url, poll_seconds=0.1) as watcher:
            server.stop()
            await wait_until(lambda: not watcher.healthy, "the outage")
            await asyncio.sleep(0.5)  # several polls fail meanwhile
            assert watcher.current.targets == {
                ("team", "north", "2026-03"): Decimal("100")
            }

            server.start()
            await wait_until(lambda: watcher.healthy, "the recovery")
            await store.set_target("team", "north", "2026-03", "300")
            seconds = await wait_until(
                lambda: (
                    watcher.current.targets[("team", "north", "2026-03")]
                    == Decimal("300")
                ),
                "the change after the restart",
            )
            print(f"change after the restart arrived in {seconds * 1000:.1f} ms")
    finally:
        await writer.aclose()


async def test_the_watcher_start_gives_up_naming_the_url() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    watcher = ReferenceWatcher(url, start_timeout=0.5)
    with pytest.raises(ReferenceStoreError, match=f"Redis at {url} did not answer"):
        await watcher.start()
    assert not watcher.healthy


# The command line


@pytest.fixture
def salespulse(
    redis_server: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., int]:
    """Return a runner of the reference subcommands against the test's prefix."""
    monkeypatch.setenv("SALESPULSE_REDIS_URL", redis_server.url)
    parser = argparse.ArgumentParser(prog="salespulse")
    register(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args([*argv, "--prefix", prefix])
        code: int = args.handler(args)
        return code

    return run


@pytest.fixture
def stored(redis_server: Redis, prefix: str) -> Callable[[], tuple[int, ReferenceData]]:
    """Return a reader of what the test's prefix holds, for synchronous tests."""

    async def read() -> tuple[int, ReferenceData]:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            return await ReferenceStore(client, prefix=prefix).load()
        finally:
            await client.aclose()

    return lambda: asyncio.run(read())


def test_cli_sets_and_lists_every_kind(
    salespulse: Callable[..., int],
    stored: Callable[[], tuple[int, ReferenceData]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = [
        ("reps", "set", "r1", "--name", "Ana Silva", "--team", "north"),
        ("targets", "set", "company", "-", "2026-03", "500000"),
        ("targets", "set", "rep", "r1", "FY2026-Q1", "90000"),
        ("stages", "set", "proposal", "0.55"),
        ("rates", "set", "EUR", "1.09", "--from", "2026-01-01T00:00:00Z"),
        ("calendar", "set", "--timezone", "Europe/Berlin",
         "--fiscal-year-start-month", "4"),
    ]  # fmt: skip
    assert [salespulse(*command) for command in commands] == [0] * len(commands)

    version, data = stored()
    assert version == 6
    assert data.reps["r1"] == Rep("r1", "Ana Silva", "north", "unassigned")
    assert dict(data.targets) == {
        ("company", "", "2026-03"): Decimal("500000"),
        ("rep", "r1", "FY2026-Q1"): Decimal("90000"),
    }
    assert data.stage_weights["proposal"] == Decimal("0.55")
    assert data.rates.rate("EUR", MARCH) == Decimal("1.09")
    assert data.calendar == Calendar("Europe/Berlin", 4)

    capsys.readouterr()
    for group, action in [("reps", "list"), ("targets", "list"), ("stages", "list"),
                          ("rates", "list"), ("calendar", "show")]:  # fmt: skip
        assert salespulse(group, action) == 0
    printed = capsys.readouterr().out
    for text in ("Ana Silva", "500,000", "FY2026-Q1", "0.55", "1.09", "Europe/Berlin"):
        assert text in printed


def test_cli_removes_and_resets(
    salespulse: Callable[..., int], stored: Callable[[], tuple[int, ReferenceData]]
) -> None:
    salespulse("reps", "set", "r1")
    salespulse("targets", "set", "team", "north", "2026-03", "10")
    salespulse("stages", "set", "proposal", "0.9")

    assert salespulse("reps", "remove", "r1") == 0
    assert salespulse("targets", "remove", "team", "north", "2026-03") == 0
    assert salespulse("stages", "reset") == 0

    assert stored()[1] == ReferenceData()


def test_cli_exports_and_imports_a_document(
    salespulse: Callable[..., int],
    stored: Callable[[], tuple[int, ReferenceData]],
    tmp_path: Path,
) -> None:
    salespulse("reps", "set", "r1", "--team", "north")
    salespulse("targets", "set", "rep", "r1", "2026-03", "1200")
    exported = tmp_path / "reference.json"
    assert salespulse("reference", "export", str(exported)) == 0
    salespulse("targets", "set", "rep", "r1", "2026-03", "9999")

    assert salespulse("reference", "import", str(exported)) == 0

    version, data = stored()
    assert version == 4
    assert data.targets[("rep", "r1", "2026-03")] == Decimal("1200")
    assert json.loads(exported.read_text()) == data.to_mapping()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("targets", "set", "rep", "r1", "2026-03", "lots"), "argument AMOUNT"),
        (("targets", "set", "region", "x", "2026-03", "5"), "argument SCOPE"),
        (("stages", "set", "proposal", "high"), "argument WEIGHT"),
        (("rates", "set", "EUR", "1.1", "--from", "2026-01-01"), "argument --from"),
        (("calendar", "set", "--fiscal-year-start-month", "13"), "month number"),
    ],
)
def test_cli_rejects_a_malformed_argument_with_exit_2(
    salespulse: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    named: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        salespulse(*argv)
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("targets", "set", "rep", "r1", "2026-03", "-1"), "targets[0].amount"),
        (("stages", "set", "proposal", "2"), "stage_weights.proposal"),
        (("calendar", "set", "--timezone", "Mars/Olympus"), "timezone"),
        (("calendar", "set", "--reporting-currency", "EURO"), "reporting_currency"),
        (("rates", "set", "XXY", "1.1"), "exchange_rates.XXY"),
        (("reps", "remove", "nobody"), "reps: no rep 'nobody'"),
    ],
)
def test_cli_rejects_an_unaccepted_value_with_exit_2_and_writes_nothing(
    salespulse: Callable[..., int],
    stored: Callable[[], tuple[int, ReferenceData]],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    named: str,
) -> None:
    assert salespulse(*argv) == 2
    assert named in capsys.readouterr().err
    assert stored() == (0, ReferenceData())


def test_cli_rejects_a_bad_file_before_writing(
    salespulse: Callable[..., int],
    stored: Callable[[], tuple[int, ReferenceData]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = tmp_path / "reference.json"
    document.write_text(json.dumps({"reps": [{"rep_id": "r1", "tem": "x"}]}))
    assert salespulse("reference", "import", str(document)) == 2
    assert "reps[0].tem" in capsys.readouterr().err
    assert stored()[0] == 0


def test_cli_names_an_unreachable_redis_with_exit_1(
    salespulse: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("SALESPULSE_REDIS_URL", url)
    assert salespulse("reps", "list") == 1
    assert f"Redis at {url} does not answer" in capsys.readouterr().err
