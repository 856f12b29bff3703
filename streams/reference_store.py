"""Reference data in Redis: the store people write to and workers read.

Layout, under a key prefix (``salespulse:`` unless set otherwise); every hash
value is JSON, so that ``redis-cli HGETALL`` shows readable data:

- ``<prefix>settings``: hash of the document's single-valued fields
  (``reporting_currency``, ``timezone``, ``fiscal_year_start_month``,
  ``gross_margin``, ``ltv_cap_months``, ``churn_months``) and the whole
  ``stage_weights`` table as one object, so that an empty table and the
  default one stay apart.
- ``<prefix>reps``: rep id -> ``{"name", "team", "region"}``.
- ``<prefix>targets``: ``["scope", "key", "period"]`` (a JSON array, since a
  team's name may hold any character) -> the amount as a decimal string.
- ``<prefix>exchange_rates``: currency -> its history
  ``[{"from": RFC 3339, "rate": decimal string}, ...]``.
- ``<prefix>gross_margin_by_product``: product -> margin as a decimal string.
- ``<prefix>campaign_channels``: campaign id -> channel.
- ``<prefix>version``: a counter, raised by one with every change.

A missing hash or field holds the default of :class:`ReferenceData`, so an
empty Redis reads as ``ReferenceData()`` at version 0. Every change goes
through one path: WATCH the version, read the stored document, edit it, check
the result with :meth:`ReferenceData.from_mapping`, then in one MULTI/EXEC
write only the fields that differ, INCR the version and PUBLISH the new
version on ``<prefix>changes``. A concurrent change aborts the EXEC and the
edit is made again on the newer document. Redis therefore never holds a
document the engine cannot load, as long as it is only written through this
module (a hand-made HSET neither is checked nor raises the version).

A worker follows the changes with :class:`streams.reference_watcher.
ReferenceWatcher`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import redis
import redis.asyncio
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.asyncio.connection import SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from kpis.reference import ReferenceData, ReferenceError, Rep
from streams.errors import StreamsError

logger = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "salespulse:"
POLL_SECONDS: Final = 0.5
START_TIMEOUT_SECONDS: Final = 30.0
SOCKET_TIMEOUT_SECONDS: Final = 2.0

SETTINGS: Final = "settings"
SETTING_FIELDS: Final = (
    "reporting_currency",
    "timezone",
    "fiscal_year_start_month",
    "gross_margin",
    "ltv_cap_months",
    "churn_months",
    "stage_weights",
)
"""The document's fields kept in the ``settings`` hash, one field each."""

TABLES: Final = (
    "reps",
    "targets",
    "exchange_rates",
    "gross_margin_by_product",
    "campaign_channels",
)
"""The document's fields kept in a hash of their own, one entry a field."""

HASHES: Final = (SETTINGS, *TABLES)
_WRITE_ATTEMPTS: Final = 20

Document = dict[str, Any]
Hashes = dict[str, dict[str, str]]
Edit = Callable[[Document], None]
"""A change to a reference document, made in place."""


class ReferenceStoreError(StreamsError):
    """Redis cannot be reached or keeps changing under a write."""


@dataclass(frozen=True)
class Keys:
    """The Redis keys and channel of one prefix."""

    prefix: str = DEFAULT_PREFIX

    @property
    def version(self) -> str:
        """Return the key of the version counter."""
        return f"{self.prefix}version"

    @property
    def channel(self) -> str:
        """Return the channel each change's new version is published on."""
        return f"{self.prefix}changes"

    def hash(self, name: str) -> str:
        """Return the key of the hash ``name`` (one of :data:`HASHES`)."""
        return f"{self.prefix}{name}"


# The layout: pure functions between a document and the hashes that hold it.


def hashes_of(document: Mapping[str, Any]) -> Hashes:
    """Return the hash fields that hold a checked, normalised document."""
    hashes: Hashes = {name: {} for name in HASHES}
    for name in SETTING_FIELDS:
        if name in document:
            hashes[SETTINGS][name] = _json(document[name])
    for rep in document.get("reps", ()):
        details = {key: value for key, value in rep.items() if key != "rep_id"}
        hashes["reps"][rep["rep_id"]] = _json(details)
    for target in document.get("targets", ()):
        where = [target["scope"], target.get("key", ""), target["period"]]
        hashes["targets"][_json(where)] = _json(target["amount"])
    for name in ("exchange_rates", "gross_margin_by_product", "campaign_channels"):
        for key, value in document.get(name, {}).items():
            hashes[name][key] = _json(value)
    return hashes


def document_of(hashes: Mapping[str, Mapping[str, str]], keys: Keys) -> Document:
    """Return the reference document that the stored hashes hold.

    Raises:
        ReferenceError: a stored value is not JSON or not of the layout; the
            message names the key and the field.
    """
    document: Document = {}
    for name, text in sorted(hashes.get(SETTINGS, {}).items()):
        document[name] = _parsed(keys.hash(SETTINGS), name, text)
    reps = hashes.get("reps", {})
    if reps:
        document["reps"] = [
            _stored_rep(keys.hash("reps"), rep_id, text)
            for rep_id, text in sorted(reps.items())
        ]
    targets = hashes.get("targets", {})
    if targets:
        document["targets"] = sorted(
            (_stored_target(keys.hash("targets"), where, text)
             for where, text in targets.items()),
            key=lambda target: (target["scope"], target["key"], target["period"]),
        )  # fmt: skip
    for name in ("exchange_rates", "gross_margin_by_product", "campaign_channels"):
        table = hashes.get(name, {})
        if table:
            document[name] = {
                key: _parsed(keys.hash(name), key, text)
                for key, text in sorted(table.items())
            }
    return document


@dataclass(frozen=True)
class HashChange:
    """The fields of one hash to write and to delete."""

    key: str
    written: Mapping[str, str] = field(default_factory=dict)
    deleted: tuple[str, ...] = ()


def changes_between(before: Hashes, after: Hashes, keys: Keys) -> list[HashChange]:
    """Return the writes that turn the hashes ``before`` into ``after``."""
    changes = []
    for name in HASHES:
        old, new = before.get(name, {}), after.get(name, {})
        written = {key: value for key, value in new.items() if old.get(key) != value}
        deleted = tuple(sorted(key for key in old if key not in new))
        if written or deleted:
            changes.append(HashChange(keys.hash(name), written, deleted))
    return changes


def normalised(document: Mapping[str, Any]) -> Document:
    """Return the document as :meth:`ReferenceData.to_mapping` writes it.

    Raises:
        ReferenceError: the document is not accepted; nothing may be stored.
    """
    return ReferenceData.from_mapping(document).to_mapping()


def _json(value: Any) -> str:
    """Return ``value`` as compact JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parsed(key: str, name: str, text: str) -> Any:
    """Return the JSON value of the field ``name`` of the hash ``key``."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise ReferenceError(f"{key} {name}: {text!r} is not JSON") from error


def _stored_rep(key: str, rep_id: str, text: str) -> dict[str, Any]:
    """Return the document's entry of a rep stored as ``{name, team, region}``."""
    details = _parsed(key, rep_id, text)
    if not isinstance(details, dict):
        raise ReferenceError(f"{key} {rep_id}: {text!r} is not a JSON object")
    return {"rep_id": rep_id, **details}


def _stored_target(key: str, where: str, text: str) -> dict[str, Any]:
    """Return the document's entry of a target stored under ``[scope, key, period]``."""
    parts = _parsed(key, where, where)
    if not isinstance(parts, list) or len(parts) != 3:
        raise ReferenceError(f"{key} {where}: not a [scope, key, period] array")
    scope, target_key, period = parts
    return {
        "scope": scope,
        "key": target_key,
        "period": period,
        "amount": _parsed(key, where, text),
    }


def _text(value: str | bytes) -> str:
    """Return a Redis reply as text, whether the client decodes replies or not."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _hashes_of_replies(replies: Iterable[Mapping[Any, Any]]) -> Hashes:
    """Return the hashes of HGETALL replies, in the order of :data:`HASHES`."""
    return {
        name: {_text(key): _text(value) for key, value in reply.items()}
        for name, reply in zip(HASHES, replies, strict=True)
    }


def _version_of(reply: Any) -> int:
    """Return the version of a GET reply; no key is version 0."""
    if reply is None:
        return 0
    text = _text(reply)
    if not text.isdigit():
        raise ReferenceError(f"version: {text!r} is not a whole number")
    return int(text)


def _queue_changes(
    pipe: AsyncPipeline, changes: list[HashChange], keys: Keys, version: int
) -> None:
    """Queue the writes, the new version and its announcement in a transaction."""
    for change in changes:
        if change.written:
            written: dict[Any, Any] = dict(change.written)
            pipe.hset(change.key, mapping=written)
        if change.deleted:
            pipe.hdel(change.key, *change.deleted)
    pipe.incr(keys.version)
    pipe.publish(keys.channel, str(version + 1))


def plan_edit(
    hashes: Hashes, keys: Keys, edit: Edit, *, replace: bool
) -> list[HashChange]:
    """Return the writes that make ``edit`` to the stored hashes, once checked.

    Args:
        hashes: what the store holds now.
        keys: the keys of the store's prefix.
        edit: the change, made in place to the stored document.
        replace: the edit replaces the whole document, which is then not read
            (so that a document that no longer loads can still be replaced).

    Raises:
        ReferenceError: the result, or the stored document an edit starts
            from, is not accepted.
    """
    draft = {} if replace else normalised(document_of(hashes, keys))
    edit(draft)
    return changes_between(hashes, hashes_of(normalised(draft)), keys)


def describe_client(client: redis.asyncio.Redis) -> str:
    """Return a URL-like name of the Redis a client talks to, for messages."""
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix://{options['path']}"
    host, port = options.get("host", "localhost"), options.get("port", 6379)
    tls = issubclass(client.connection_pool.connection_class, SSLConnection)
    scheme = "rediss" if tls else "redis"
    user = f"{options['username']}@" if options.get("username") else ""
    return f"{scheme}://{user}{host}:{port}/{options.get('db', 0)}"


def unreachable(url: str, error: Exception) -> ReferenceStoreError:
    """Return the error of a Redis that does not answer, naming its URL."""
    return ReferenceStoreError(f"Redis at {url} does not answer: {error}")


# The edits each setter makes to a document.


def _upsert(entries: list[dict[str, Any]], same: Callable[[dict[str, Any]], bool],
            entry: dict[str, Any]) -> None:  # fmt: skip
    """Replace the first entry for which ``same`` holds by ``entry``, or append it."""
    for index, existing in enumerate(entries):
        if same(existing):
            entries[index] = entry
            return
    entries.append(entry)


def _same_instant(first: Any, second: Any) -> bool:
    """Tell whether two RFC 3339 texts name the same instant."""
    try:
        return datetime.fromisoformat(first) == datetime.fromisoformat(second)
    except (TypeError, ValueError):
        return bool(first == second)


def _instant_text(instant: datetime | str) -> str:
    """Return an instant as the text a document holds."""
    return instant.isoformat() if isinstance(instant, datetime) else instant


def _target_where(target: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """Return a target entry's (scope, key, period)."""
    return target.get("scope"), target.get("key", ""), target.get("period")


def settings_edit(values: Mapping[str, Any]) -> Edit:
    """Return the edit that sets the document's settings given (those not None)."""

    def edit(document: Document) -> None:
        document.update({k: value for k, value in values.items() if value is not None})

    return edit


def connect(
    url: str, *, retries: int = 1, ssl_ca_certs: str | None = None
) -> redis.asyncio.Redis:
    """Return a client of ``url`` that fails fast, for callers that retry themselves.

    Args:
        url: ``redis://``, ``rediss://`` or ``unix://`` URL; an ACL user and
            password go in it (``rediss://user:password@host:port/0``).
        retries: immediate reconnections per command, so that the first
            command after a Redis restart does not fail on the stale socket.
        ssl_ca_certs: PEM file of the CAs that sign the certificate of a
            ``rediss://`` server; the system's CAs when None.
    """
    tls: dict[str, Any] = {} if ssl_ca_certs is None else {"ssl_ca_certs": ssl_ca_certs}
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), retries),
        **tls,
    )


class _StaleConnection(Exception):
    """A pooled connection broke before anything was queued: safe to try again.

    After a Redis restart the first command on each pooled connection fails,
    and redis-py does not retry the commands of a WATCHed pipeline itself.
    """

    def __init__(self, error: redis.ConnectionError) -> None:
        super().__init__(str(error))
        self.error = error


class ReferenceStore:
    """The reference data in Redis: read it, change it, export and import it.

    Every change returns the version it produced (the current one when the
    change alters nothing) and raises :class:`ReferenceError`, naming the
    field, when the result would not load; then nothing is written. A Redis
    that does not answer raises :class:`ReferenceStoreError` naming it.
    """

    def __init__(
        self, client: redis.asyncio.Redis, *, prefix: str = DEFAULT_PREFIX
    ) -> None:
        """Wrap ``client``; the caller closes it."""
        self.keys = Keys(prefix)
        self.url = describe_client(client)
        self._client = client

    async def version(self) -> int:
        """Return the stored version; 0 when nothing was ever written."""
        try:
            return _version_of(await self._client.get(self.keys.version))
        except redis.RedisError as error:
            raise unreachable(self.url, error) from error

    async def load(self) -> tuple[int, ReferenceData]:
        """Return the stored version and reference data, read in one transaction.

        Raises:
            ReferenceError: the stored data does not load (written by hand).
        """
        version, hashes = await self._snapshot()
        return version, ReferenceData.from_mapping(document_of(hashes, self.keys))

    async def export_document(self) -> Document:
        """Return the stored reference data as a whole, normalised document."""
        _, data = await self.load()
        return data.to_mapping()

    async def update(self, edit: Edit, *, replace: bool = False) -> int:
        """Make ``edit`` to the stored document and return the new version.

        Args:
            edit: the change, made in place to the normalised document.
            replace: the edit builds the document from nothing.
        """
        try:
            for attempt in range(_WRITE_ATTEMPTS):
                try:
                    version = await self._try_update(edit, replace=replace)
                except _StaleConnection as stale:
                    if attempt > 0:
                        raise stale.error from stale
                    continue
                if version is not None:
                    return version
        except redis.RedisError as error:
            raise unreachable(self.url, error) from error
        raise ReferenceStoreError(
            f"Redis at {self.url}: the reference data changed under "
            f"{_WRITE_ATTEMPTS} attempts to write; try again"
        )

    async def _snapshot(self) -> tuple[int, Hashes]:
        """Return the version and every hash, read in one MULTI/EXEC."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.get(self.keys.version)
                for name in HASHES:
                    pipe.hgetall(self.keys.hash(name))
                version, *replies = await pipe.execute()
        except redis.RedisError as error:
            raise unreachable(self.url, error) from error
        return _version_of(version), _hashes_of_replies(replies)

    async def _try_update(self, edit: Edit, *, replace: bool) -> int | None:
        """Write the edit unless the version moves meanwhile (then None)."""
        async with self._client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.keys.version)
                version = _version_of(await pipe.get(self.keys.version))
                replies = [await pipe.hgetall(self.keys.hash(name)) for name in HASHES]
            except redis.ConnectionError as error:
                raise _StaleConnection(error) from error
            changes = plan_edit(
                _hashes_of_replies(replies), self.keys, edit, replace=replace
            )
            if not changes:
                return version  # leaving the block unwatches
            # redis-py leaves these two pipeline methods without annotations.
            pipe.multi()  # type: ignore[no-untyped-call]
            _queue_changes(pipe, changes, self.keys, version)
            try:
                await pipe.execute()
            except redis.WatchError:
                logger.debug("reference data moved during a write; retrying")
                return None
        logger.info(
            "reference data changed version=%s hashes=%s",
            version + 1,
            ",".join(change.key for change in changes),
        )
        return version + 1

    async def set_reps(self, reps: Iterable[Rep]) -> int:
        """Replace the whole rep directory by ``reps``."""
        entries = [
            {"rep_id": r.rep_id, "name": r.name, "team": r.team, "region": r.region}
            for r in reps
        ]

        def edit(document: Document) -> None:
            document["reps"] = entries

        return await self.update(edit)

    async def set_rep(
        self,
        rep_id: str,
        *,
        name: str | None = None,
        team: str | None = None,
        region: str | None = None,
    ) -> int:
        """Add the rep ``rep_id`` or change the details given, keeping the others.

        A new rep without a name is named by its id and, without a team or a
        region, is unassigned.
        """
        given = {"name": name, "team": team, "region": region}

        def edit(document: Document) -> None:
            reps = document["reps"]
            current: dict[str, Any] = next(
                (r for r in reps if r["rep_id"] == rep_id), {}
            )
            entry = {**current, "rep_id": rep_id}
            entry.update({k: value for k, value in given.items() if value is not None})
            _upsert(reps, lambda r: bool(r["rep_id"] == rep_id), entry)

        return await self.update(edit)

    async def remove_rep(self, rep_id: str) -> int:
        """Remove the rep ``rep_id`` from the directory.

        Raises:
            ReferenceError: no such rep; nothing is written.
        """

        def edit(document: Document) -> None:
            reps = document["reps"]
            document["reps"] = [r for r in reps if r["rep_id"] != rep_id]
            if len(document["reps"]) == len(reps):
                raise ReferenceError(f"reps: no rep {rep_id!r} to remove")

        return await self.update(edit)

    async def set_target(
        self, scope: str, key: str, period_label: str, amount: Decimal | str | int
    ) -> int:
        """Set the target of ``scope`` and ``key`` for a period.

        Args:
            scope: ``company``, ``team`` or ``rep``.
            key: ``""`` for the company, else the team or the rep id.
            period_label: a month, quarter or fiscal-year label (``2026-12``).
            amount: in the reporting currency, 0 or more.
        """
        where = (scope, key, period_label)
        entry = {"scope": scope, "key": key, "period": period_label,
                 "amount": str(amount)}  # fmt: skip

        def edit(document: Document) -> None:
            _upsert(document["targets"], lambda t: _target_where(t) == where, entry)

        return await self.update(edit)

    async def delete_target(self, scope: str, key: str, period_label: str) -> int:
        """Remove the target of ``scope`` and ``key`` for a period.

        Raises:
            ReferenceError: no such target; nothing is written.
        """
        where = (scope, key, period_label)

        def edit(document: Document) -> None:
            targets = document["targets"]
            document["targets"] = [t for t in targets if _target_where(t) != where]
            if len(document["targets"]) == len(targets):
                raise ReferenceError(
                    f"targets: no target for {scope} {key!r} in {period_label!r}"
                )

        return await self.update(edit)

    async def set_stage_weights(self, weights: Mapping[str, Decimal | str]) -> int:
        """Replace the whole table of stage weights."""
        table = {stage: str(weight) for stage, weight in weights.items()}

        def edit(document: Document) -> None:
            document["stage_weights"] = table

        return await self.update(edit)

    async def set_stage_weight(self, stage: str, weight: Decimal | str) -> int:
        """Set the weight of one stage, keeping the others."""

        def edit(document: Document) -> None:
            document["stage_weights"][stage] = str(weight)

        return await self.update(edit)

    async def reset_stage_weights(self) -> int:
        """Go back to the default table of stage weights."""

        def edit(document: Document) -> None:
            del document["stage_weights"]

        return await self.update(edit)

    async def set_rate(
        self, currency: str, effective_from: datetime | str, rate: Decimal | str
    ) -> int:
        """Set the rate of ``currency`` to the reporting currency from an instant.

        A rate from the same instant is replaced; the other ones stay.

        Args:
            currency: ISO 4217 code, not the reporting currency.
            effective_from: aware instant (or RFC 3339 text) it applies from.
            rate: units of the reporting currency per unit of ``currency``.
        """
        entry = {"from": _instant_text(effective_from), "rate": str(rate)}

        def edit(document: Document) -> None:
            history = document["exchange_rates"].setdefault(currency, [])
            _upsert(history, lambda e: _same_instant(e["from"], entry["from"]), entry)

        return await self.update(edit)

    async def set_calendar(
        self, timezone: str | None = None, fiscal_year_start_month: int | None = None
    ) -> int:
        """Set the time zone and/or the first month of the fiscal year."""
        return await self.update(
            settings_edit(
                {
                    "timezone": timezone,
                    "fiscal_year_start_month": fiscal_year_start_month,
                }
            )
        )

    async def set_reporting_currency(self, currency: str) -> int:
        """Set the currency every amount is converted to."""
        return await self.update(settings_edit({"reporting_currency": currency}))

    async def set_gross_margin(self, product: str | None, value: Decimal | str) -> int:
        """Set the company-wide gross margin (``product`` None) or a product's."""
        if product is None:
            return await self.update(settings_edit({"gross_margin": str(value)}))

        def edit(document: Document) -> None:
            document["gross_margin_by_product"][product] = str(value)

        return await self.update(edit)

    async def set_campaign_channel(self, campaign: str, channel: str) -> int:
        """Set the channel of a marketing campaign."""

        def edit(document: Document) -> None:
            document["campaign_channels"][campaign] = channel

        return await self.update(edit)

    async def import_document(self, mapping: Mapping[str, Any]) -> int:
        """Replace the whole reference data by a document.

        Raises:
            ReferenceError: the document is not accepted; it is checked before
                Redis is asked anything, and nothing is written.
        """
        document = normalised(mapping)
        return await self.update(lambda draft: draft.update(document), replace=True)
