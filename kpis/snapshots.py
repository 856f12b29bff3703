"""Changelog records: the state of one entity as bytes, and a state rebuilt from them.

The live engine writes, after each batch, the current state of every entity
the batch touched to a compacted changelog topic, keyed by the entity's kind
and id; a worker given a partition rebuilds its state by reading that
partition from its start. Activities never change once logged, so each one is
a record of its own, keyed by its event id: replaying them rebuilds both the
per-rep counts and the set of activity ids already counted.

Values are MessagePack, written and read by msgspec straight from and into
the domain's own classes: dataclasses, named tuples, tuples, the event data
Structs and their enumerations. Decimals are written as their exact strings.
Times are MessagePack timestamps, which hold an instant and no offset: a time
comes back in UTC whatever offset its event carried. Nothing in the domain
reads an offset: times are ordered, hashed and subtracted as instants (aware
datetimes compare and hash by their UTC value), rates are looked up by
timestamp and periods found by converting to the calendar's zone, so the
restored state adds up to the same sums, and orders stamps ``(time, id)`` as
before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Final, TypeVar

import msgspec

from kpis.accounts import AccountState
from kpis.activities import ActivityState
from kpis.costs import CostState
from kpis.deals import DealState
from kpis.errors import KpiError
from kpis.leads import LeadState
from kpis.reference import ReferenceData
from kpis.state import KpiState

DEAL: Final = "deal"
LEAD: Final = "lead"
ACCOUNT: Final = "account"
COST: Final = "cost"
ACTIVITY: Final = "activity"
ENTITY_KINDS: Final = frozenset({DEAL, LEAD, ACCOUNT, COST})
KINDS: Final = ENTITY_KINDS | {ACTIVITY}

Entity = DealState | LeadState | AccountState | CostState
# One counted activity: its rep, its quarter hour, its kind and its outcome.
ActivityRecord = tuple[str, int, str, str]

# Must match how ActivityState.count files an activity under its quarter hour.
_SEPARATOR: Final = b":"
T = TypeVar("T")

_KIND_OF: Final[Mapping[type[Entity], str]] = MappingProxyType(
    {DealState: DEAL, LeadState: LEAD, AccountState: ACCOUNT, CostState: COST}
)
_ID_OF: Final[Mapping[str, Callable[[Any], str]]] = MappingProxyType(
    {
        DEAL: lambda deal: deal.deal_id,
        LEAD: lambda lead: lead.lead_id,
        ACCOUNT: lambda account: account.account_id,
        COST: lambda cost: cost.key,
    }
)
_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODERS: Final[Mapping[str, msgspec.msgpack.Decoder[Any]]] = MappingProxyType(
    {kind: msgspec.msgpack.Decoder(cls) for cls, kind in _KIND_OF.items()}
)
_ACTIVITY_DECODER: Final = msgspec.msgpack.Decoder(ActivityRecord)


class SnapshotError(KpiError):
    """A changelog record that is not one this module writes."""

    def __init__(self, kind: str, key: bytes | None, detail: str) -> None:
        where = f" at key {key!r}" if key is not None else ""
        super().__init__(f"changelog record of kind {kind!r}{where}: {detail}")
        self.kind = kind
        self.key = key
        self.detail = detail


def entity_key(kind: str, entity_id: str) -> bytes:
    """Return the changelog key of an entity: its kind, a colon, its id.

    Args:
        kind: one of :data:`KINDS` ("deal", "lead", "account", "cost",
            "activity").
        entity_id: the entity's id (for an activity, its event's id); it may
            itself hold colons.
    """
    if kind not in KINDS:
        raise SnapshotError(kind, None, f"unknown kind, expected one of {_kinds()}")
    return kind.encode() + _SEPARATOR + entity_id.encode()


def parse_entity_key(key: bytes) -> tuple[str, str]:
    """Return the kind and the id a changelog key names."""
    raw_kind, separator, raw_id = key.partition(_SEPARATOR)
    try:
        kind, entity_id = raw_kind.decode(), raw_id.decode()
    except UnicodeDecodeError as error:
        raise SnapshotError("?", key, "the key is not UTF-8") from error
    if not separator or kind not in KINDS:
        raise SnapshotError(kind, key, f"the key does not start with one of {_kinds()}")
    return kind, entity_id


def entity_record(entity: Entity) -> tuple[bytes, bytes]:
    """Return the changelog key and value that hold an entity's state."""
    kind = _KIND_OF[type(entity)]
    return entity_key(kind, _ID_OF[kind](entity)), encode_entity(entity)


def encode_entity(entity: Entity) -> bytes:
    """Return the changelog value of a deal, lead, account or cost state."""
    return _ENCODER.encode(entity)


def decode_entity(kind: str, data: bytes, *, key: bytes | None = None) -> Entity:
    """Return the entity state a changelog value holds.

    Args:
        kind: the entity's kind, from its key ("deal", "lead", "account",
            "cost").
        data: the changelog value, as :func:`encode_entity` wrote it.
        key: the record's key, named in the error if the value does not decode.

    Raises:
        SnapshotError: ``kind`` is not an entity kind, or ``data`` is not the
            state of an entity of that kind.
    """
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise SnapshotError(kind, key, f"not an entity kind, expected {_kinds()}")
    try:
        entity: Entity = decoder.decode(data)
    except (msgspec.DecodeError, KpiError) as error:
        raise SnapshotError(kind, key, str(error)) from error
    return entity


def encode_activity(rep_id: str, slot: int, kind: str, outcome: str) -> bytes:
    """Return the changelog value of one counted activity.

    Args:
        rep_id: the rep who logged it.
        slot: its quarter hour since the epoch (:func:`kpis.facts.slot_of`).
        kind: its kind ("call", "demo", ...).
        outcome: its outcome ("none", "sale", ...).
    """
    return _ENCODER.encode((rep_id, slot, kind, outcome))


def decode_activity(data: bytes, *, key: bytes | None = None) -> ActivityRecord:
    """Return the (rep id, slot, kind, outcome) of one counted activity.

    Raises:
        SnapshotError: ``data`` is not what :func:`encode_activity` writes.
    """
    try:
        return _ACTIVITY_DECODER.decode(data)
    except msgspec.DecodeError as error:
        raise SnapshotError(ACTIVITY, key, str(error)) from error


def restore_state(
    reference: ReferenceData, records: Iterable[tuple[bytes, bytes | None]]
) -> KpiState:
    """Rebuild a partition's state from its changelog records, in log order.

    A later record for a key replaces an earlier one and a ``None`` value (a
    tombstone) deletes it. Every value is decoded as it is read, so a value
    that does not decode fails the restore even if a later record would have
    replaced it. The sums are computed once, at the end, under ``reference``.

    Raises:
        SnapshotError: a key or a value is not one this module writes, or an
            entity's own id differs from the id in its key.
    """
    state = KpiState(reference)
    tables: dict[str, dict[str, Any]] = {
        DEAL: state.deals,
        LEAD: state.leads,
        ACCOUNT: state.accounts,
        COST: state.costs,
    }
    activities: dict[str, ActivityRecord] = {}

    for key, value in records:
        kind, entity_id = parse_entity_key(key)
        if kind == ACTIVITY:
            _replace(activities, entity_id, value, partial(decode_activity, key=key))
        else:
            decode = partial(_decode_owned, kind, entity_id, key=key)
            _replace(tables[kind], entity_id, value, decode)

    _count_activities(state, activities)
    state.rebuild(reference)
    return state


def _replace(
    table: dict[str, T], key: str, value: bytes | None, decode: Callable[[bytes], T]
) -> None:
    """Put the decoded value under ``key``, or delete the key on a tombstone."""
    if value is None:
        table.pop(key, None)
    else:
        table[key] = decode(value)


def _decode_owned(kind: str, entity_id: str, value: bytes, *, key: bytes) -> Entity:
    """Decode an entity and check that it is the one its key names."""
    entity = decode_entity(kind, value, key=key)
    own_id = _ID_OF[kind](entity)
    if own_id != entity_id:
        raise SnapshotError(kind, key, f"the value holds {kind} {own_id!r}")
    return entity


def _count_activities(
    state: KpiState, activities: Mapping[str, ActivityRecord]
) -> None:
    """Count each activity under its rep, and mark its id as counted."""
    reps = state.activities
    for event_id, (rep_id, slot, kind, outcome) in activities.items():
        state.counted_activities.add(event_id)
        rep = reps.get(rep_id)
        if rep is None:
            rep = reps[rep_id] = ActivityState(rep_id)
        counts = rep.counts
        count_key = (slot, kind, outcome)
        counts[count_key] = counts.get(count_key, 0) + 1


def _kinds() -> str:
    return ", ".join(sorted(KINDS))
