"""The event contract: decoding, rejecting with a reason, encoding, keys."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.currencies import ISO_4217
from kpis.events import (
    EVENT_TYPES,
    ActivityKind,
    CostCategory,
    DealWon,
    DealWonData,
    Feed,
    InvalidEvent,
    RejectReason,
    SubscriptionData,
    SubscriptionStarted,
    check_horizon,
    decode_event,
    encode_event,
    partition_key,
)
from tests.samples import DATA, TIME, sample

KEYS = {
    "deal.created": b"D-1",
    "deal.stage_changed": b"D-1",
    "deal.quote_sent": b"D-1",
    "deal.won": b"D-1",
    "deal.lost": b"D-2",
    "activity.logged": b"rep-7",
    "lead.created": b"L-1",
    "lead.converted": b"L-1",
    "subscription.started": b"A-1",
    "subscription.changed": b"A-1",
    "subscription.cancelled": b"A-1",
    "subscription.reactivated": b"A-1",
    "cost.recorded": b"C-1",
}


def document(event_type: str = "deal.won", **changes: Any) -> dict[str, Any]:
    """Return a valid CloudEvent as a dict, with top-level ``changes``."""
    values = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "crm/hubspot",
        "type": event_type,
        "time": TIME,
        "datacontenttype": "application/json",
        "data": dict(DATA[event_type]),
    }
    values.update(changes)
    return values


def raw(values: dict[str, Any]) -> bytes:
    return json.dumps(values).encode()


def with_data(event_type: str, **changes: Any) -> bytes:
    data = {**DATA[event_type], **changes}
    return raw(document(event_type, data=data))


def without_data_field(event_type: str, field: str) -> bytes:
    data = dict(DATA[event_type])
    del data[field]
    return raw(document(event_type, data=data))


def reject(message: bytes, feed: Feed | None = None, **options: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        decode_event(message, feed=feed, **options)
    return caught.value


def test_every_type_of_the_spec_has_its_feed() -> None:
    assert dict(EVENT_TYPES) == {
        "deal.created": Feed.DEALS,
        "deal.stage_changed": Feed.DEALS,
        "deal.quote_sent": Feed.DEALS,
        "deal.won": Feed.DEALS,
        "deal.lost": Feed.DEALS,
        "activity.logged": Feed.ACTIVITIES,
        "lead.created": Feed.LEADS,
        "lead.converted": Feed.LEADS,
        "subscription.started": Feed.SUBSCRIPTIONS,
        "subscription.changed": Feed.SUBSCRIPTIONS,
        "subscription.cancelled": Feed.SUBSCRIPTIONS,
        "subscription.reactivated": Feed.SUBSCRIPTIONS,
        "cost.recorded": Feed.COSTS,
    }


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_a_sample_of_every_type_decodes_on_its_feed(event_type: str) -> None:
    event = decode_event(raw(document(event_type)), feed=EVENT_TYPES[event_type])

    assert event.type == event_type
    assert event.feed is EVENT_TYPES[event_type]
    assert event.id == "evt-1"
    assert event.source == "crm/hubspot"
    assert event.time == datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    assert partition_key(event) == KEYS[event_type]


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_encoding_then_decoding_gives_the_same_event(event_type: str) -> None:
    event = decode_event(raw(document(event_type)))

    assert decode_event(encode_event(event)) == event


def test_amounts_are_exact_decimals_from_numbers_and_strings() -> None:
    event = decode_event(with_data("deal.won", amount=0.1, cost="1234567.891"))

    assert isinstance(event, DealWon)
    assert event.data.amount == Decimal("0.1")
    assert event.data.cost == Decimal("1234567.891")
    assert b'"amount":0.1' in encode_event(event)


def test_optional_fields_and_enumerations_are_typed() -> None:
    created = decode_event(raw(document("deal.created")))
    activity = decode_event(raw(document("activity.logged")))

    close_date = created.data.close_date  # type: ignore[union-attr]
    assert close_date.isoformat() == "2026-12-20"
    assert activity.data.kind is ActivityKind.DEMO  # type: ignore[union-attr]
    stage = decode_event(with_data("deal.stage_changed", probability=0.4))
    assert stage.data.probability == Decimal("0.4")  # type: ignore[union-attr]


def test_unknown_attributes_and_data_fields_are_ignored() -> None:
    message = raw(
        document("deal.lost", subject="x", data={**DATA["deal.lost"], "n": 1})
    )

    assert decode_event(message).type == "deal.lost"


def test_sales_costs_are_keyed_by_team() -> None:
    data = {"category": "sales", "amount": 10, "currency": "USD", "team": "emea"}
    event = decode_event(raw(document("cost.recorded", data=data)))

    assert event.data.category is CostCategory.SALES  # type: ignore[union-attr]
    assert partition_key(event) == b"emea"


BAD_INPUTS = [
    (b'{"specversion": "1.0", ', RejectReason.NOT_JSON, "message"),
    (b"\xff\xfe", RejectReason.NOT_JSON, "message"),
    (b"[1, 2]", RejectReason.NOT_CLOUDEVENTS, "list"),
    (
        raw({k: v for k, v in document().items() if k != "id"}),
        RejectReason.NOT_CLOUDEVENTS,
        "id",
    ),
    (raw(document(specversion="0.3")), RejectReason.NOT_CLOUDEVENTS, "specversion"),
    (raw(document(time="2026-11-30T14:05:00")), RejectReason.NOT_CLOUDEVENTS, "time"),
    (raw(document(time="yesterday")), RejectReason.NOT_CLOUDEVENTS, "time"),
    (raw(document(source="")), RejectReason.NOT_CLOUDEVENTS, "source"),
    (
        raw(document(type="deal.teleported")),
        RejectReason.UNKNOWN_TYPE,
        "deal.teleported",
    ),
    (raw(document("lead.created")), RejectReason.WRONG_TOPIC, "lead.created"),
    (
        raw({k: v for k, v in document().items() if k != "data"}),
        RejectReason.MISSING_FIELD,
        "data",
    ),
    (without_data_field("deal.won", "cost"), RejectReason.MISSING_FIELD, "data.cost"),
    (with_data("deal.won", deal_id=""), RejectReason.INVALID_FIELD, "data.deal_id"),
    (
        with_data("deal.won", amount="lots"),
        RejectReason.INVALID_FIELD,
        "data.amount: 'lots'",
    ),
    (with_data("deal.won", amount="NaN"), RejectReason.INVALID_FIELD, "data.amount"),
    (
        with_data("deal.created", kind="upsell"),
        RejectReason.INVALID_FIELD,
        "data.kind: 'upsell'",
    ),
    (
        with_data("deal.created", channel="fax"),
        RejectReason.INVALID_FIELD,
        "data.channel: 'fax'",
    ),
    (
        with_data("deal.stage_changed", probability=1.5),
        RejectReason.INVALID_FIELD,
        "data.probability",
    ),
    (
        with_data("deal.won", currency="XYZ"),
        RejectReason.UNKNOWN_CURRENCY,
        "data.currency: 'XYZ'",
    ),
    (
        with_data("deal.won", cost=-0.01),
        RejectReason.NEGATIVE_AMOUNT,
        "data.cost: -0.01",
    ),
    (
        with_data("deal.quote_sent", amount="-5"),
        RejectReason.NEGATIVE_AMOUNT,
        "data.amount",
    ),
]


@pytest.mark.parametrize(("message", "reason", "named"), BAD_INPUTS)
def test_each_bad_input_is_rejected_with_its_reason(
    message: bytes, reason: RejectReason, named: str
) -> None:
    error = reject(message, Feed.DEALS)

    assert error.reason is reason
    assert named in error.detail
    assert error.detail in str(error)


@pytest.mark.parametrize(
    ("event_type", "field", "value", "reason"),
    [
        ("activity.logged", "kind", "lunch", RejectReason.INVALID_FIELD),
        ("activity.logged", "outcome", "maybe", RejectReason.INVALID_FIELD),
        ("cost.recorded", "category", "travel", RejectReason.INVALID_FIELD),
        ("subscription.changed", "mrr", -1, RejectReason.NEGATIVE_AMOUNT),
        ("subscription.cancelled", "mrr", 10, RejectReason.INVALID_FIELD),
        ("cost.recorded", "amount", -3, RejectReason.NEGATIVE_AMOUNT),
        ("lead.created", "channel", "pigeon", RejectReason.INVALID_FIELD),
    ],
)
def test_enumerations_and_amounts_are_validated_on_every_feed(
    event_type: str, field: str, value: object, reason: RejectReason
) -> None:
    error = reject(with_data(event_type, **{field: value}), EVENT_TYPES[event_type])

    assert error.reason is reason
    assert f"data.{field}" in error.detail


def test_a_marketing_cost_needs_its_campaign() -> None:
    data = {"category": "marketing", "amount": 10, "currency": "USD", "team": "x"}
    error = reject(raw(document("cost.recorded", data=data)), Feed.COSTS)

    assert error.reason is RejectReason.MISSING_FIELD
    assert "data.campaign_id" in error.detail


def test_size_is_checked_before_anything_else() -> None:
    error = reject(b"x" * 2000, max_bytes=1024)

    assert error.reason is RejectReason.OVERSIZED
    assert "2000 bytes" in error.detail


def test_a_bad_envelope_wins_over_a_bad_data_field() -> None:
    message = raw(document(time="noon", data={**DATA["deal.won"], "currency": "XYZ"}))

    assert reject(message).reason is RejectReason.NOT_CLOUDEVENTS


def test_a_known_type_on_another_feed_wins_over_a_bad_data_field() -> None:
    message = with_data("cost.recorded", currency="XYZ")

    assert reject(message, Feed.DEALS).reason is RejectReason.WRONG_TOPIC


def test_currencies_are_active_iso_4217_codes() -> None:
    assert {"USD", "EUR", "GBP", "JPY", "CHF"} <= ISO_4217
    assert not {"XXX", "XTS", "HRK", "usd"} & ISO_4217


money = st.decimals(min_value=0, max_value=Decimal("1e12"), places=2)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)
ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)


@given(amount=money, cost=money, time=times, deal_id=ids)
def test_won_deals_survive_a_round_trip(
    amount: Decimal, cost: Decimal, time: datetime, deal_id: str
) -> None:
    event = DealWon(
        specversion="1.0",
        id="e",
        source="s",
        time=time,
        data=DealWonData(deal_id, amount, cost, "EUR"),
    )

    decoded = decode_event(encode_event(event), feed=Feed.DEALS)

    assert decoded == event
    assert partition_key(decoded) == deal_id.encode()


@given(mrr=money, currency=st.sampled_from(sorted(ISO_4217)))
def test_subscriptions_survive_a_round_trip(mrr: Decimal, currency: str) -> None:
    event = SubscriptionStarted(
        specversion="1.0",
        id="e",
        source="billing",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        data=SubscriptionData("S-1", "A-1", mrr, currency),
    )

    assert decode_event(encode_event(event)) == event


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_rejected_only_with_invalid_event(message: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode_event(message, feed=Feed.DEALS)


@given(
    st.dictionaries(
        st.sampled_from(["specversion", "id", "source", "type", "time", "data"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=10), st.just("1.0")),
    )
)
def test_arbitrary_objects_never_escape_the_reasons(values: dict[str, Any]) -> None:
    try:
        decode_event(raw(values))
    except InvalidEvent as error:
        assert error.reason in RejectReason


def test_an_event_older_than_the_late_horizon_is_too_late() -> None:
    event = decode_event(sample("deal.won"))  # dated 2026-11-30T13:05Z
    arrived = datetime(2026, 12, 30, 13, 0, tzinfo=UTC)
    check_horizon(event, arrived, 0)  # every period open
    check_horizon(event, arrived, 31)
    with pytest.raises(InvalidEvent) as raised:
        check_horizon(event, arrived, 29)
    assert raised.value.reason is RejectReason.TOO_LATE
    assert "29 days" in raised.value.detail
