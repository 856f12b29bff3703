"""A worker's copy of the reference data, kept current from Redis.

A message on the changes channel makes the watcher reload at once, and it
reads the version every half second as well, because messages sent while its
connection was down are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio
from redis.asyncio.client import PubSub

from kpis.reference import ReferenceData, ReferenceError
from streams.config import mask_url
from streams.reference_store import (
    DEFAULT_PREFIX,
    POLL_SECONDS,
    START_TIMEOUT_SECONDS,
    ReferenceStore,
    ReferenceStoreError,
    connect,
    unreachable,
)

logger = logging.getLogger(__name__)

OnChange = Callable[[ReferenceData], Awaitable[None] | None]
"""What the watcher calls with the new reference data after each change."""


class ReferenceWatcher:
    """A worker's current copy of the reference data, kept up to date from Redis.

    A change reaches it through the changes channel within milliseconds, or
    through the version it reads every ``poll_seconds`` when the message was
    lost. While Redis does not answer, the watcher keeps the last data it
    loaded, ``healthy`` is False and a WARNING is logged once per outage; it
    catches up when Redis answers again. When Redis comes back without any
    reference data (version 0, a Redis that lost its data), the last data is
    kept and a WARNING says so, since falling back to the defaults would drop
    every target.

    Example::

        watcher = ReferenceWatcher(settings.redis_url, on_change=engine.rebuild)
        await watcher.start()
        data = watcher.current
        ...
        await watcher.stop()
    """

    def __init__(
        self,
        url: str,
        on_change: OnChange | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        poll_seconds: float = POLL_SECONDS,
        start_timeout: float = START_TIMEOUT_SECONDS,
        ssl_ca_certs: str | None = None,
    ) -> None:
        """Describe a watcher; nothing connects before :meth:`start`.

        Args:
            url: the Redis URL (``Settings.redis_url``); its password appears
                in no message, only in the connection.
            on_change: called, and awaited if it returns an awaitable, with
                the new data after each change; not called by :meth:`start`.
            prefix: the key prefix of the store.
            poll_seconds: how often the version is read.
            start_timeout: how long :meth:`start` waits for Redis to answer.
            ssl_ca_certs: CAs of a ``rediss://`` server
                (``Settings.redis_ssl_ca_certs``).
        """
        self.url = mask_url(url)
        self._secret_url = url
        self._ssl_ca_certs = ssl_ca_certs
        self._on_change = on_change
        self._prefix = prefix
        self._poll_seconds = poll_seconds
        self._start_timeout = start_timeout
        self._client: redis.asyncio.Redis | None = None
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._version = 0
        self._data = ReferenceData()
        self._healthy = False
        self._warned_empty = False
        self._rejected_version: int | None = None
        self._last_problem = ""

    @property
    def current(self) -> ReferenceData:
        """Return the reference data last loaded."""
        return self._data

    @property
    def version(self) -> int:
        """Return the stored version the current data was loaded at."""
        return self._version

    @property
    def healthy(self) -> bool:
        """Tell whether Redis answered the last request."""
        return self._healthy

    async def start(self) -> None:
        """Load the current data, then follow its changes in a background task.

        Raises:
            ReferenceStoreError: Redis did not answer within ``start_timeout``;
                the message names its URL.
            ReferenceError: the stored data does not load.
        """
        if self._task is not None:
            raise ReferenceStoreError("the reference watcher is already started")
        self._client = connect(self._secret_url, ssl_ca_certs=self._ssl_ca_certs)
        store = ReferenceStore(self._client, prefix=self._prefix)
        try:
            self._version, self._data = await self._first_load(store)
        except BaseException:
            await self._close()
            raise
        self._healthy = True
        self._task = asyncio.create_task(self._follow(store), name="reference-watcher")
        logger.info("reference data loaded url=%s version=%s", self.url, self._version)

    async def stop(self) -> None:
        """Stop following changes and close the connections; the data stays."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()
        self._healthy = False

    async def __aenter__(self) -> ReferenceWatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _first_load(self, store: ReferenceStore) -> tuple[int, ReferenceData]:
        """Load the data, retrying with backoff until ``start_timeout``."""
        deadline = time.monotonic() + self._start_timeout
        delay = 0.1
        while True:
            try:
                return await store.load()
            except ReferenceStoreError as error:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ReferenceStoreError(
                        f"Redis at {self.url} did not answer within "
                        f"{self._start_timeout:g} s; the worker needs it for the "
                        f"reference data ({error})"
                    ) from error
                if delay == 0.1:
                    logger.warning("waiting for Redis url=%s error=%s", self.url, error)
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, 2.0)

    async def _follow(self, store: ReferenceStore) -> None:
        """Wait for an announcement or the poll interval, then catch up; forever."""
        while True:
            try:
                await self._wait_for_announcement(store.keys.channel)
                await self._catch_up(store)
            except ReferenceStoreError as error:
                await self._lost(error)
            except redis.RedisError as error:
                await self._lost(unreachable(self.url, error))
            except ReferenceError as error:
                if str(error) != self._last_problem:
                    self._last_problem = str(error)
                    logger.error("stored reference data is broken: %s", error)
                await asyncio.sleep(self._poll_seconds)
            except Exception:
                # Whatever goes wrong, the worker keeps its data and the
                # watcher keeps trying rather than ending in silence.
                logger.exception("reference watcher failed; retrying")
                await asyncio.sleep(self._poll_seconds)

    async def _wait_for_announcement(self, channel: str) -> None:
        """Return when a change is announced or after ``poll_seconds``."""
        if self._pubsub is None:
            if self._client is None:
                raise ReferenceStoreError("the reference watcher is stopped")
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            self._pubsub = pubsub
            await pubsub.subscribe(channel)
        await self._pubsub.get_message(
            ignore_subscribe_messages=True, timeout=self._poll_seconds
        )

    async def _catch_up(self, store: ReferenceStore) -> None:
        """Reload the data if the stored version moved."""
        version = await store.version()
        self._recovered(version)
        if version in (self._version, self._rejected_version):
            return
        if version == 0:
            if not self._warned_empty:
                self._warned_empty = True
                logger.warning(
                    "Redis holds no reference data url=%s; keeping version=%s; "
                    "import it with `salespulse reference import`",
                    self.url,
                    self._version,
                )
            return
        try:
            loaded_version, data = await store.load()
        except ReferenceError as error:
            self._rejected_version = version
            logger.error(
                "stored reference data does not load version=%s error=%s; "
                "keeping version=%s",
                version,
                error,
                self._version,
            )
            return
        self._version, self._data = loaded_version, data
        self._warned_empty = False
        logger.info("reference data reloaded version=%s", loaded_version)
        await self._notify(data)

    async def _notify(self, data: ReferenceData) -> None:
        """Call ``on_change``; its failure is logged and does not stop the watcher."""
        if self._on_change is None:
            return
        try:
            result = self._on_change(data)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("on_change failed version=%s", self._version)

    def _recovered(self, version: int) -> None:
        """Mark Redis as answering, logging the end of an outage."""
        if not self._healthy:
            self._healthy = True
            logger.info(
                "Redis answers again url=%s stored_version=%s", self.url, version
            )

    async def _lost(self, error: ReferenceStoreError) -> None:
        """Mark Redis as unreachable, warn once per outage and wait a poll."""
        if self._healthy:
            self._healthy = False
            logger.warning(
                "%s; keeping the reference data of version=%s", error, self._version
            )
        await self._drop_subscription()
        await asyncio.sleep(self._poll_seconds)

    async def _drop_subscription(self) -> None:
        """Close the subscription, which is made again on the next attempt."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except (redis.RedisError, OSError):
                logger.debug("closing a broken subscription failed", exc_info=True)

    async def _close(self) -> None:
        """Close the subscription and the client."""
        await self._drop_subscription()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
