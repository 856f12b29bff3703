"""Changelog records: entity states to bytes and back, and states restored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.accounts import AccountState
from kpis.costs import CostState
from kpis.deals import DealState, Outcome
from kpis.events import (
    ActivityLogged,
    Channel,
    CostCategory,
    DealCreatedData,
    DealKind,
    Event,
)
from kpis.facts import slot_of
from kpis.leads import LeadState
from kpis.ledger import Sample
from kpis.links import DemoOfDeal, LeadSnapshot, WinOfAccount
from kpis.snapshots import (
    Entity,
    SnapshotError,
    decode_activity,
    decode_entity,
    encode_activity,
    encode_entity,
    entity_key,
    entity_record,
    parse_entity_key,
    restore_state,
)
from kpis.state import KpiState
from tests.kpis.builders import subscription
from tests.kpis.test_properties import REFERENCE, common, now_after, seeds, simulated

KOLKATA = timezone(timedelta(hours=5, minutes=30))
ST_JOHNS = timezone(-timedelta(hours=3, minutes=30))
AT = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=KOLKATA)
LATER = datetime(2026, 4, 2, 17, 5, tzinfo=ST_JOHNS)
# More digits than the default decimal context keeps (28).
LONG = Decimal("123456789012345678901234567890.123456789012345678901234567")


def full_deal() -> DealState:
    created = DealCreatedData(
        deal_id="D-1",
        rep_id="rep-1",
        account_id="A-1",
        product="crm-pro",
        amount=LONG,
        currency="EUR",
        channel=Channel.IN_PERSON,
        kind=DealKind.EXPANSION,
        lead_id="L-1",
        close_date=date(2026, 5, 31),
    )
    return DealState(
        "D-1",
        created=((AT, "e-1"), created),
        stage=((LATER, "e-2"), "proposal", Decimal("0.35")),
        close_date=((LATER, "e-2"), date(2026, 6, 30)),
        quotes={"Q-1": (AT, "e-3"), "Q-2": (LATER, "e-4")},
        outcome=Outcome((LATER, "e-5"), True, LONG, Decimal("0.0000001"), "EUR"),
        lead=LeadSnapshot("D-1", "L-1", AT, "web", "C-1", (LATER, "e-6")),
        demos={"act-1": DemoOfDeal("D-1", "act-1", AT, "rep-2")},
    )


def full_account() -> AccountState:
    return AccountState(
        "A-1",
        subscriptions={
            "S-1": {
                (AT, "e-1"): (Decimal("99.90"), "EUR"),
                (LATER, "e-2"): (LONG, "USD"),
            },
            "S-2": {(LATER, "e-3"): (Decimal("0"), "USD")},
        },
        wins={
            "D-1": WinOfAccount("A-1", "D-1", AT, (AT, "e-4")),
            "D-2": WinOfAccount("A-1", "D-2", None, (LATER, "e-5")),
        },
    )


def full_cost() -> CostState:
    return CostState(
        "C-1",
        entries={
            "e-1": (AT, CostCategory.MARKETING, LONG, "EUR"),
            "e-2": (LATER, CostCategory.SALES, Decimal("1E+3"), "USD"),
        },
    )


ENTITIES: list[tuple[str, Entity]] = [
    ("deal", DealState("D-1")),
    ("deal", full_deal()),
    ("deal", DealState("D-2", outcome=Outcome((AT, "e-9"), False))),
    ("lead", LeadState("L-1")),
    ("lead", LeadState("L-1", ((AT, "e-1"), "web", "C-1"), ((LATER, "e-2"), "D-1"))),
    ("lead", LeadState("L-2", named_by_deal="D-7")),
    ("account", AccountState("A-1")),
    ("account", full_account()),
    ("cost", CostState("team-emea")),
    ("cost", full_cost()),
]


@pytest.mark.parametrize(("kind", "entity"), ENTITIES)
def test_every_entity_comes_back_equal(kind: str, entity: Entity) -> None:
    restored = decode_entity(kind, encode_entity(entity))

    assert restored == entity
    assert type(restored) is type(entity)


def test_times_come_back_as_the_same_instants_in_utc() -> None:
    restored = decode_entity("deal", encode_entity(full_deal()))

    assert isinstance(restored, DealState)
    assert restored.created is not None and restored.lead is not None
    stamp = restored.created[0]
    assert stamp == (AT, "e-1")
    assert stamp[0].utcoffset() == timedelta(0)
    assert stamp[0] == datetime(2026, 3, 28, 20, 0, 15, 123456, tzinfo=UTC)
    assert hash(stamp) == hash((AT, "e-1"))
    assert restored.lead.created.timestamp() == AT.timestamp()


def test_decimals_keep_every_digit_and_their_exponent() -> None:
    restored = decode_entity("cost", encode_entity(full_cost()))

    assert isinstance(restored, CostState)
    amounts = [str(entry[2]) for entry in restored.entries.values()]
    assert amounts == [str(LONG), "1E+3"]
    categories = [entry[1] for entry in restored.entries.values()]
    assert categories == [CostCategory.MARKETING, CostCategory.SALES]
    assert all(isinstance(category, CostCategory) for category in categories)


def test_the_deal_data_comes_back_with_its_enumerations() -> None:
    restored = decode_entity("deal", encode_entity(full_deal()))

    assert isinstance(restored, DealState) and restored.created is not None
    data = restored.created[1]
    assert data.kind is DealKind.EXPANSION
    assert data.channel is Channel.IN_PERSON
    assert str(data.amount) == str(LONG)


def test_a_restored_stamp_is_the_same_key_for_a_repeat_in_another_offset() -> None:
    account = AccountState("A-1")
    original = subscription("started", "2026-03-29T01:30:00+05:30", "120.50")
    account.fold((original.time, original.id), original.data)  # type: ignore[arg-type]
    restored = decode_entity("account", encode_entity(account))
    assert isinstance(restored, AccountState)

    repeat = msgspec.structs.replace(original, time=original.time.astimezone(ST_JOHNS))
    restored.fold((repeat.time, repeat.id), repeat.data)  # type: ignore[arg-type]

    assert len(restored.subscriptions["S-1"]) == 1
    assert restored == account


def test_stamps_order_the_same_after_the_round_trip() -> None:
    same_instant = AT.astimezone(ST_JOHNS)
    stamps = [(LATER, "a"), (same_instant, "b"), (AT, "a"), (AT, "c")]
    deal = DealState("D-1", quotes={str(i): s for i, s in enumerate(stamps)})
    restored = decode_entity("deal", encode_entity(deal))

    assert isinstance(restored, DealState)
    assert sorted(restored.quotes.values()) == sorted(stamps)
    assert [s[1] for s in sorted(restored.quotes.values())] == ["a", "b", "c", "a"]


def test_an_activity_comes_back_as_its_four_fields() -> None:
    slot = slot_of(AT)
    data = encode_activity("rep-1", slot, "demo", "meeting_booked")

    assert decode_activity(data) == ("rep-1", slot, "demo", "meeting_booked")
    assert slot == int(AT.timestamp()) // 900


@pytest.mark.parametrize("kind", ["deal", "lead", "account", "cost", "activity"])
def test_keys_name_their_kind_and_id(kind: str) -> None:
    key = entity_key(kind, "id:with:colons é")

    assert key == f"{kind}:id:with:colons é".encode()
    assert parse_entity_key(key) == (kind, "id:with:colons é")


@pytest.mark.parametrize("key", [b"deal", b"quote:Q-1", b"\xff:D-1", b":D-1"])
def test_a_key_of_no_known_kind_is_refused(key: bytes) -> None:
    with pytest.raises(SnapshotError) as raised:
        parse_entity_key(key)

    assert raised.value.key == key


def test_an_unknown_kind_has_no_key() -> None:
    with pytest.raises(SnapshotError, match="'quote'"):
        entity_key("quote", "Q-1")


def test_a_value_that_does_not_decode_names_its_kind_and_key() -> None:
    with pytest.raises(SnapshotError) as raised:
        decode_entity("deal", b"\xc1garbage", key=b"deal:D-1")

    assert raised.value.kind == "deal"
    assert "deal:D-1" in str(raised.value)
    assert isinstance(raised.value.__cause__, msgspec.DecodeError)


def test_a_value_of_another_kind_is_refused() -> None:
    lead = encode_entity(LeadState("L-1", ((AT, "e-1"), "web", "C-1")))

    with pytest.raises(SnapshotError, match="'deal'"):
        decode_entity("deal", lead)
    with pytest.raises(SnapshotError, match="'activity'"):
        decode_activity(lead, key=b"activity:e-1")


def test_a_deal_data_that_breaks_its_checks_is_refused() -> None:
    deal = msgspec.msgpack.decode(encode_entity(full_deal()))
    deal["created"][1]["currency"] = "XXZ"

    with pytest.raises(SnapshotError, match="XXZ"):
        decode_entity("deal", msgspec.msgpack.encode(deal))


def test_a_later_record_replaces_and_a_tombstone_deletes() -> None:
    first = LeadState("L-1", ((AT, "e-1"), "web", "C-1"))
    second = LeadState("L-1", ((AT, "e-1"), "email", "C-2"))
    records: list[tuple[bytes, bytes | None]] = [
        entity_record(first),
        entity_record(full_deal()),
        entity_record(second),
        (entity_key("deal", "D-1"), None),
        (entity_key("activity", "e-7"), encode_activity("rep-1", 5, "call", "none")),
        (entity_key("activity", "e-8"), encode_activity("rep-1", 5, "call", "none")),
        (entity_key("activity", "e-9"), encode_activity("rep-2", 6, "demo", "sale")),
        (entity_key("activity", "e-8"), encode_activity("rep-1", 5, "call", "none")),
        (entity_key("activity", "e-9"), None),
        (entity_key("cost", "gone"), None),
    ]

    state = restore_state(REFERENCE, records)

    assert state.leads == {"L-1": second}
    assert state.deals == {}
    assert state.counted_activities == {"e-7", "e-8"}
    assert list(state.activities) == ["rep-1"]
    assert state.activities["rep-1"].counts == {(5, "call", "none"): 2}


def test_an_entity_under_the_key_of_another_is_refused() -> None:
    records: list[tuple[bytes, bytes | None]] = [
        (entity_key("lead", "L-2"), encode_entity(LeadState("L-1")))
    ]

    with pytest.raises(SnapshotError, match="'L-1'") as raised:
        restore_state(REFERENCE, records)

    assert raised.value.key == b"lead:L-2"


def in_offsets(events: Sequence[Event], minutes: Sequence[int]) -> list[Event]:
    """Return the events with their times moved to other UTC offsets."""
    return [
        msgspec.structs.replace(
            event, time=event.time.astimezone(timezone(timedelta(minutes=offset)))
        )
        for event, offset in zip(events, minutes, strict=True)
    ]


def exact(samples: Iterable[Sample]) -> dict[object, str]:
    """Key samples by series, values as their exact decimal text."""
    return {(sample.measure, sample.labels): str(sample.value) for sample in samples}


def changelog(
    events: Sequence[Event], batch: int
) -> tuple[KpiState, list[tuple[bytes, bytes | None]]]:
    """Fold events in batches, writing what a worker writes after each."""
    state = KpiState(REFERENCE)
    records: list[tuple[bytes, bytes | None]] = []
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        for event in chunk:
            if isinstance(event, ActivityLogged):
                records.extend(_activity_record(state, event))
        assert state.fold_all(chunk) == []
        # Every entity, not only the touched ones: a rewrite replaces itself.
        for table in (state.deals, state.leads, state.accounts, state.costs):
            records.extend(entity_record(entity) for entity in table.values())
    return state, records


def _activity_record(
    state: KpiState, event: ActivityLogged
) -> list[tuple[bytes, bytes | None]]:
    if event.id in state.counted_activities:
        return []
    data = event.data
    value = encode_activity(
        data.rep_id, slot_of(event.time), str(data.kind), str(data.outcome)
    )
    return [(entity_key("activity", event.id), value)]


offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: q * 15)


@common
@given(
    seed=seeds,
    count=st.integers(min_value=50, max_value=600),
    batch=st.integers(1, 80),
    data=st.data(),
)
def test_a_restored_state_gives_the_same_samples(
    seed: int, count: int, batch: int, data: st.DataObject
) -> None:
    simulation = simulated(seed, count)
    minutes = data.draw(st.lists(offsets, min_size=count, max_size=count))
    events = in_offsets(simulation, minutes)
    now = now_after(events)
    original, records = changelog(events, batch)

    restored = restore_state(REFERENCE, records)

    assert restored.deals == original.deals
    assert restored.leads == original.leads
    assert restored.accounts == original.accounts
    assert restored.costs == original.costs
    assert restored.counted_activities == original.counted_activities
    assert {rep: state.counts for rep, state in restored.activities.items()} == {
        rep: state.counts for rep, state in original.activities.items()
    }
    expected = exact(original.samples(now))
    assert exact(restored.samples(now)) == expected
    original.rebuild(REFERENCE)
    assert exact(original.samples(now)) == expected
