"""The input events: CloudEvents 1.0 JSON documents decoded into typed values.

Every event type of the specification has an envelope :class:`msgspec.Struct`
(``specversion``, ``id``, ``source``, ``time``, ``data``), tagged on the
CloudEvents ``type`` attribute, with a typed ``data`` Struct. The union of the
envelopes, :data:`Event`, is decoded by one :class:`msgspec.json.Decoder` in a
single pass; CloudEvents attributes other than those are ignored, and so are
unknown ``data`` fields. A message that does not decode is classified by a
slower second pass into a :class:`RejectReason`.

Amounts are :class:`~decimal.Decimal` (from JSON numbers or strings, exactly),
times are timezone-aware datetimes, enumerations are :class:`~enum.StrEnum`.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Final, Literal, get_args

import msgspec

from kpis.currencies import ISO_4217
from kpis.errors import KpiError

DEFAULT_MAX_BYTES: Final = 64 * 1024
SPECVERSION: Final = "1.0"


class Feed(StrEnum):
    """An input stream: the events of one kind of system, on one topic."""

    DEALS = "deals"
    ACTIVITIES = "activities"
    LEADS = "leads"
    SUBSCRIPTIONS = "subscriptions"
    COSTS = "costs"


class RejectReason(StrEnum):
    """Why a message was rejected; the label of the rejected-events counter."""

    NOT_JSON = "not_json"
    NOT_CLOUDEVENTS = "not_cloudevents"
    UNKNOWN_TYPE = "unknown_type"
    WRONG_TOPIC = "wrong_topic"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_CURRENCY = "unknown_currency"
    NEGATIVE_AMOUNT = "negative_amount"
    OVERSIZED = "oversized"
    # Not a decoding error: the engine refuses an event older than the
    # late-event horizon, which would restate a period that is closed.
    TOO_LATE = "too_late"


class DealKind(StrEnum):
    """Whether a deal wins a new account or grows an existing one."""

    NEW = "new"
    RENEWAL = "renewal"
    EXPANSION = "expansion"


class Channel(StrEnum):
    """The contact method a deal or a lead started from."""

    EMAIL = "email"
    PHONE = "phone"
    IN_PERSON = "in_person"
    WEB = "web"
    REFERRAL = "referral"
    EVENT = "event"
    SOCIAL = "social"


class ActivityKind(StrEnum):
    """What a rep did."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    DEMO = "demo"
    ONBOARDING = "onboarding"


class ActivityOutcome(StrEnum):
    """What an activity led to."""

    NONE = "none"
    CONNECTED = "connected"
    QUALIFIED_LEAD = "qualified_lead"
    MEETING_BOOKED = "meeting_booked"
    SALE = "sale"


class CostCategory(StrEnum):
    """Which budget a cost is charged to."""

    MARKETING = "marketing"
    SALES = "sales"


class InvalidEvent(KpiError):
    """A message that is not a valid event of the feed it arrived on."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


Id = Annotated[str, msgspec.Meta(min_length=1)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _check_currency(currency: str) -> None:
    if currency not in ISO_4217:
        raise InvalidEvent(
            RejectReason.UNKNOWN_CURRENCY,
            f"data.currency: {_describe(currency)} is not an ISO 4217 currency",
        )


def _check_money(field: str, amount: Decimal) -> None:
    if not amount.is_finite():
        raise InvalidEvent(
            RejectReason.INVALID_FIELD,
            f"data.{field}: {_describe(str(amount))} is not a finite number",
        )
    if amount < 0:
        raise InvalidEvent(
            RejectReason.NEGATIVE_AMOUNT,
            f"data.{field}: {amount} is negative",
        )


class _Data(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """The ``data`` of an event; each one names its entity in ``partition_id``."""


class _DealData(_Data, frozen=True, gc=False, omit_defaults=True):
    deal_id: Id

    @property
    def partition_id(self) -> str:
        """Return the deal's id."""
        return self.deal_id


class DealCreatedData(_DealData, frozen=True, gc=False, omit_defaults=True):
    """A deal opened for an account."""

    rep_id: Id
    account_id: Id
    product: Id
    amount: Decimal
    currency: str
    channel: Channel
    kind: DealKind
    lead_id: Id | None = None
    close_date: date | None = None

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        _check_money("amount", self.amount)


class DealStageChangedData(_DealData, frozen=True, gc=False, omit_defaults=True):
    """A deal moved to a stage of the pipeline."""

    stage: Id
    probability: Decimal | None = None
    close_date: date | None = None

    def __post_init__(self) -> None:
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise InvalidEvent(
                RejectReason.INVALID_FIELD,
                f"data.probability: {self.probability} is not between 0 and 1",
            )


class DealQuoteSentData(_DealData, frozen=True, gc=False, omit_defaults=True):
    """A quote sent for a deal."""

    quote_id: Id
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        _check_money("amount", self.amount)


class DealWonData(_DealData, frozen=True, gc=False, omit_defaults=True):
    """A deal closed as won, at its final amount and the cost of delivering it."""

    amount: Decimal
    cost: Decimal
    currency: str

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        _check_money("amount", self.amount)
        _check_money("cost", self.cost)


class DealLostData(_DealData, frozen=True, gc=False, omit_defaults=True):
    """A deal closed as lost."""

    reason: str


class ActivityLoggedData(_Data, frozen=True, gc=False, omit_defaults=True):
    """A call, email, meeting, demo or onboarding call of a rep."""

    activity_id: Id
    rep_id: Id
    kind: ActivityKind
    outcome: ActivityOutcome
    deal_id: Id | None = None
    lead_id: Id | None = None

    @property
    def partition_id(self) -> str:
        """Return the rep's id: activities are counted per rep."""
        return self.rep_id


class _LeadData(_Data, frozen=True, gc=False, omit_defaults=True):
    lead_id: Id

    @property
    def partition_id(self) -> str:
        """Return the lead's id."""
        return self.lead_id


class LeadCreatedData(_LeadData, frozen=True, gc=False, omit_defaults=True):
    """A lead brought in by a campaign."""

    channel: Channel
    campaign_id: Id


class LeadConvertedData(_LeadData, frozen=True, gc=False, omit_defaults=True):
    """A lead turned into a deal."""

    deal_id: Id


class SubscriptionData(_Data, frozen=True, gc=False, omit_defaults=True):
    """A subscription and its monthly recurring revenue after the event."""

    subscription_id: Id
    account_id: Id
    mrr: Decimal
    currency: str
    product: Id | None = None

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        _check_money("mrr", self.mrr)

    @property
    def partition_id(self) -> str:
        """Return the account's id: churn is counted per account."""
        return self.account_id


class CostRecordedData(_Data, frozen=True, gc=False, omit_defaults=True):
    """A marketing cost of a campaign or a sales cost of a team."""

    category: CostCategory
    amount: Decimal
    currency: str
    campaign_id: Id | None = None
    team: Id | None = None

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        _check_money("amount", self.amount)
        if self.category is CostCategory.MARKETING and self.campaign_id is None:
            raise InvalidEvent(
                RejectReason.MISSING_FIELD,
                "data.campaign_id: required when category is 'marketing'",
            )
        if self.category is CostCategory.SALES and self.team is None:
            raise InvalidEvent(
                RejectReason.MISSING_FIELD,
                "data.team: required when category is 'sales'",
            )

    @property
    def partition_id(self) -> str:
        """Return the campaign (marketing) or the team (sales) charged."""
        if self.category is CostCategory.MARKETING:
            return self.campaign_id or ""
        return self.team or ""


class _Envelope(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag_field="type"):
    """The CloudEvents attributes the engine reads; ``type`` is the tag."""

    FEED: ClassVar[Feed]

    specversion: Literal["1.0"]
    id: Id
    source: Id
    time: AwareTime

    @property
    def type(self) -> str:
        """Return the CloudEvents ``type``."""
        return str(self.__struct_config__.tag)

    @property
    def feed(self) -> Feed:
        """Return the feed (and so the topic) that carries this event."""
        return self.FEED


class DealCreated(_Envelope, frozen=True, gc=False, kw_only=True, tag="deal.created"):
    """``deal.created``."""

    FEED = Feed.DEALS
    data: DealCreatedData


class DealStageChanged(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="deal.stage_changed"
):
    """``deal.stage_changed``."""

    FEED = Feed.DEALS
    data: DealStageChangedData


class DealQuoteSent(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="deal.quote_sent"
):
    """``deal.quote_sent``."""

    FEED = Feed.DEALS
    data: DealQuoteSentData


class DealWon(_Envelope, frozen=True, gc=False, kw_only=True, tag="deal.won"):
    """``deal.won``."""

    FEED = Feed.DEALS
    data: DealWonData


class DealLost(_Envelope, frozen=True, gc=False, kw_only=True, tag="deal.lost"):
    """``deal.lost``."""

    FEED = Feed.DEALS
    data: DealLostData


class ActivityLogged(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="activity.logged"
):
    """``activity.logged``."""

    FEED = Feed.ACTIVITIES
    data: ActivityLoggedData


class LeadCreated(_Envelope, frozen=True, gc=False, kw_only=True, tag="lead.created"):
    """``lead.created``."""

    FEED = Feed.LEADS
    data: LeadCreatedData


class LeadConverted(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="lead.converted"
):
    """``lead.converted``."""

    FEED = Feed.LEADS
    data: LeadConvertedData


class SubscriptionStarted(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="subscription.started"
):
    """``subscription.started``."""

    FEED = Feed.SUBSCRIPTIONS
    data: SubscriptionData


class SubscriptionChanged(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="subscription.changed"
):
    """``subscription.changed``: an expansion or a contraction."""

    FEED = Feed.SUBSCRIPTIONS
    data: SubscriptionData


class SubscriptionCancelled(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="subscription.cancelled"
):
    """``subscription.cancelled``: its MRR after the event is 0."""

    FEED = Feed.SUBSCRIPTIONS
    data: SubscriptionData

    def __post_init__(self) -> None:
        if self.data.mrr != 0:
            raise InvalidEvent(
                RejectReason.INVALID_FIELD,
                f"data.mrr: {self.data.mrr} must be 0 on subscription.cancelled",
            )


class SubscriptionReactivated(
    _Envelope, frozen=True, gc=False, kw_only=True, tag="subscription.reactivated"
):
    """``subscription.reactivated``."""

    FEED = Feed.SUBSCRIPTIONS
    data: SubscriptionData


class CostRecorded(_Envelope, frozen=True, gc=False, kw_only=True, tag="cost.recorded"):
    """``cost.recorded``."""

    FEED = Feed.COSTS
    data: CostRecordedData


Event = (
    DealCreated
    | DealStageChanged
    | DealQuoteSent
    | DealWon
    | DealLost
    | ActivityLogged
    | LeadCreated
    | LeadConverted
    | SubscriptionStarted
    | SubscriptionChanged
    | SubscriptionCancelled
    | SubscriptionReactivated
    | CostRecorded
)

EVENT_CLASSES: Final[Mapping[str, type[Event]]] = MappingProxyType(
    {str(cls.__struct_config__.tag): cls for cls in get_args(Event)}
)
EVENT_TYPES: Final[Mapping[str, Feed]] = MappingProxyType(
    {name: cls.FEED for name, cls in EVENT_CLASSES.items()}
)

_DECODER: Final = msgspec.json.Decoder(Event)
_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")
_ENVELOPE_ATTRIBUTES: Final = ("specversion", "id", "source", "type", "time")
_ERROR_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def decode_event(
    raw: bytes, *, feed: Feed | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Event:
    """Decode one message into an event, or raise :class:`InvalidEvent`.

    Args:
        raw: the message's value, a CloudEvent in JSON (structured mode).
        feed: the feed of the topic it arrived on; an event of another feed is
            rejected as ``wrong_topic``. ``None`` accepts every feed.
        max_bytes: the largest accepted message; a larger one is ``oversized``.
    """
    if len(raw) > max_bytes:
        raise InvalidEvent(
            RejectReason.OVERSIZED,
            f"message: {len(raw)} bytes is more than the limit of {max_bytes}",
        )
    try:
        event = _DECODER.decode(raw)
    except (msgspec.DecodeError, InvalidEvent) as error:
        raise _classify(raw, feed, error) from error
    if feed is not None and event.FEED is not feed:
        raise _wrong_topic(event.type, feed)
    return event


def check_horizon(event: Event, arrived: datetime, horizon_days: int) -> None:
    """Refuse an event that arrived more than ``horizon_days`` after its time.

    Args:
        event: the event.
        arrived: when it arrived (the replay's as-of time).
        horizon_days: how many days a period stays open; 0 keeps every one open.

    Raises:
        InvalidEvent: with reason ``too_late``.
    """
    if horizon_days and event.time < arrived - timedelta(days=horizon_days):
        raise InvalidEvent(
            RejectReason.TOO_LATE,
            f"time: {event.time.isoformat()} is more than {horizon_days} days "
            f"before its arrival at {arrived.isoformat()} (the late-event "
            "horizon): its period is closed",
        )


def encode_event(event: Event) -> bytes:
    """Encode an event as CloudEvents JSON, amounts as JSON numbers."""
    return _ENCODER.encode(event)


def partition_key(event: Event) -> bytes:
    """Return the Kafka key that keeps one entity's events in one partition."""
    return event.data.partition_id.encode()


def _wrong_topic(event_type: str, feed: Feed) -> InvalidEvent:
    return InvalidEvent(
        RejectReason.WRONG_TOPIC,
        f"type: {event_type!r} belongs on the {EVENT_TYPES[event_type]} feed, "
        f"not on {feed}",
    )


def _classify(raw: bytes, feed: Feed | None, error: Exception) -> InvalidEvent:
    """Find out why ``raw`` did not decode, in the order of the reject reasons.

    The checks of the data (currency, amounts) may have fired before msgspec
    reached a bad envelope attribute, so the envelope is checked again first.
    """
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError as not_json:
        return InvalidEvent(RejectReason.NOT_JSON, f"message: {not_json}")
    if not isinstance(document, dict):
        kind = type(document).__name__
        return InvalidEvent(
            RejectReason.NOT_CLOUDEVENTS, f"message: a JSON {kind}, not an object"
        )
    problem = _envelope_problem(document)
    if problem is not None:
        return InvalidEvent(RejectReason.NOT_CLOUDEVENTS, problem)
    event_type = document["type"]
    if event_type not in EVENT_TYPES:
        return InvalidEvent(
            RejectReason.UNKNOWN_TYPE,
            f"type: {_describe(event_type)} is not a known event type",
        )
    if feed is not None and EVENT_TYPES[event_type] is not feed:
        return _wrong_topic(event_type, feed)
    if "data" not in document:
        return InvalidEvent(RejectReason.MISSING_FIELD, "data: required, missing")
    if isinstance(error, InvalidEvent):
        return error
    return _field_problem(document, str(error))


def _envelope_problem(document: dict[str, Any]) -> str | None:
    for attribute in _ENVELOPE_ATTRIBUTES:
        if attribute not in document:
            return f"{attribute}: required CloudEvents attribute is missing"
        value = document[attribute]
        if not isinstance(value, str) or not value:
            return f"{attribute}: {_describe(value)} is not a non-empty string"
    if document["specversion"] != SPECVERSION:
        return f"specversion: {_describe(document['specversion'])} is not '1.0'"
    try:
        msgspec.convert(document["time"], AwareTime)
    except msgspec.ValidationError:
        return f"time: {_describe(document['time'])} is not RFC 3339 with an offset"
    return None


def _field_problem(document: dict[str, Any], message: str) -> InvalidEvent:
    """Turn msgspec's message about the event's fields into a reject reason."""
    match = _ERROR_PATH.match(message)
    text = match["message"] if match else message
    path = (match["path"] or "") if match else ""
    path = path.lstrip(".")
    missing = re.fullmatch(r"Object missing required field `(?P<name>[^`]+)`", text)
    if missing:
        field = f"{path}.{missing['name']}" if path else missing["name"]
        return InvalidEvent(RejectReason.MISSING_FIELD, f"{field}: required, missing")
    value = _lookup(document, path)
    return InvalidEvent(
        RejectReason.INVALID_FIELD,
        f"{path or 'message'}: {_describe(value)} is invalid ({text})",
    )


def _lookup(document: dict[str, Any], path: str) -> object:
    value: object = document
    for name in path.split(".") if path else ():
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    return value
