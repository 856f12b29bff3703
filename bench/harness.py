"""What every benchmark shares: the stack, the cached events, figures.

One :class:`Stack` (a Kafka broker and a Redis in a temporary folder) serves
the whole run. Events are generated once per size and cached under
``.cache/bench/`` as ``feed<TAB>key<TAB>value`` lines; each benchmark
produces them into topics of its own and reads them with consumer groups of
its own.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import Event, Feed, encode_event, partition_key
from streams.config import load_settings
from streams.reference_store import ReferenceStore, connect
from streams.simulator.company import Company, Rep, default_company
from streams.simulator.model import Simulation
from streams.simulator.reference import reference_document
from streams.topics import ensure_engine_topics
from tests.scrape import scrape

CACHE = Path(".cache/bench")
PARTITIONS = 8
# One rep of the simulated company makes about 4,400 events a year.
EVENTS_PER_REP_YEAR = 4_400

Message = tuple[Feed, bytes, bytes]


class BenchError(Exception):
    """A benchmark could not measure what it set out to."""


@dataclass(frozen=True)
class Figure:
    """One measured figure over several runs, and its target."""

    name: str
    values: tuple[float, ...]
    unit: str
    target: float | None = None
    higher_is_better: bool = True

    @property
    def median(self) -> float:
        """Return the median of the runs."""
        return statistics.median(self.values)

    def met(self) -> bool | None:
        """Tell whether the median meets the target; None without one."""
        if self.target is None:
            return None
        if self.higher_is_better:
            return self.median >= self.target
        return self.median <= self.target

    def line(self) -> str:
        """Return the figure as one printed line."""
        text = (
            f"{self.name}: {_number(self.median)} {self.unit} "
            f"(min {_number(min(self.values))}, max {_number(max(self.values))}, "
            f"{len(self.values)} runs)"
        )
        met = self.met()
        if met is not None:
            sign = ">=" if self.higher_is_better else "<="
            verdict = "met" if met else "MISSED"
            text += f"  target {sign} {_number(self.target or 0)}: {verdict}"
        return text


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def report(figures: Iterable[Figure]) -> None:
    """Print each figure on a line of its own."""
    for figure in figures:
        print("  " + figure.line(), flush=True)


def percentile(values: list[float], share: float) -> float:
    """Return the value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class Stack:
    """A Kafka broker and a Redis for the whole run, in a temporary folder."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp()))
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kafka = Kafka(self.folder / "kafka", heap_max="1g")
        self.redis = Redis(self.folder / "redis")

    def __enter__(self) -> Self:
        try:
            self.kafka.start()
            self.redis.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for worker in self.workers:
            worker.stop()
        self.redis.stop()
        self.kafka.stop()

    def settings(self, name: str) -> dict[str, str]:
        """Return worker settings whose topics, group and Redis keys are ``name``'s.

        The input topics, and the reference data's prefix, are the ones of
        :meth:`topics`; the application id (group and changelog) is ``name``.
        """
        return {
            "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "SALESPULSE_REDIS_URL": self.redis.url,
            "SALESPULSE_APP_ID": name,
            "SALESPULSE_TOPIC_PARTITIONS": str(PARTITIONS),
            "SALESPULSE_LOG_LEVEL": "WARNING",
        }

    def with_topics(self, settings: Mapping[str, str], prefix: str) -> dict[str, str]:
        """Return ``settings`` reading the input topics and reference of ``prefix``."""
        topics = {
            f"SALESPULSE_TOPIC_{feed.name}": f"{prefix}.{feed.value}" for feed in Feed
        }
        return {
            **settings,
            **topics,
            "SALESPULSE_REDIS_PREFIX": f"{prefix}:",
        }

    def start_worker(self, settings: Mapping[str, str], name: str) -> Worker:
        """Start a worker; it is stopped with the stack if not before."""
        worker = Worker(self.folder / "workers", settings, name=name)
        self.workers.append(worker)
        worker.start(timeout=120)
        return worker


def company(reps: int) -> Company:
    """Return the default company with ``reps`` reps spread over its teams."""
    base = default_company()
    teams = base.teams
    members = tuple(
        Rep(
            f"rep-{index:05d}",
            f"Rep {index}",
            teams[index % len(teams)].name,
            teams[index % len(teams)].region,
        )
        for index in range(reps)
    )
    return replace(base, reps=members)


def simulated(reps: int, events: int, days: int = 365) -> Path:
    """Return the cache of ``events`` events of a company of ``reps`` reps.

    The simulation ends now, so that the engine's windows hold its last
    months; the cache file is reused if it exists.
    """
    path = CACHE / f"company-{reps}-{events}-{days}d.tsv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    simulation = Simulation(company(reps), seed=1, start=end - timedelta(days=days))
    stream = itertools.islice(
        itertools.takewhile(lambda event: event.time < end, simulation.events()),
        events,
    )
    _write(path, stream)
    return path


def _write(path: Path, events: Iterable[Event]) -> None:
    partial = path.with_suffix(".partial")
    with partial.open("wb") as cache:
        for event in events:
            feed = event.feed.value.encode()
            cache.write(b"\t".join((feed, partition_key(event), encode_event(event))))
            cache.write(b"\n")
    partial.rename(path)


def cached(path: Path, write: Callable[[], Iterable[Event]]) -> Path:
    """Return ``path``, writing the events of ``write()`` to it first if missing."""
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _write(path, write())
    return path


def read_messages(path: Path) -> list[Message]:
    """Return the cached messages of ``path``."""
    result = []
    for line in path.read_bytes().splitlines():
        feed, key, value = line.split(b"\t", 2)
        result.append((Feed(feed.decode()), key, value))
    return result


def reps_for(events: int) -> int:
    """Return how many reps make ``events`` events in a simulated year."""
    return max(14, events // EVENTS_PER_REP_YEAR + 1)


async def seed_reference(stack: Stack, prefix: str, reps: int) -> None:
    """Write the reference data of a company of ``reps`` reps under ``prefix``."""
    client = connect(stack.redis.url)
    try:
        document = reference_document(company(reps), datetime.now(UTC))
        await ReferenceStore(client, prefix=f"{prefix}:").import_document(document)
    finally:
        await client.aclose()


async def produce(stack: Stack, prefix: str, messages: list[Message]) -> None:
    """Create the topics of ``prefix`` and produce ``messages`` to them."""
    settings = load_settings(stack.with_topics(stack.settings(prefix), prefix))
    await ensure_engine_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka.bootstrap_servers,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    try:
        for feed, key, value in messages:
            await producer.send(settings.topic_for(feed), value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def prepare(stack: Stack, prefix: str, reps: int, messages: list[Message]) -> None:
    """Seed the reference data and fill the topics of ``prefix``; say how long."""
    began = time.perf_counter()
    asyncio.run(seed_reference(stack, prefix, reps))
    asyncio.run(produce(stack, prefix, messages))
    seconds = time.perf_counter() - began
    print(f"  produced {len(messages):,} events to {prefix}.* in {seconds:.0f} s")


def folded(url: str) -> float:
    """Return the events a worker consumed or rejected so far, from /metrics."""
    samples = scrape(url)
    return sum(
        value
        for (name, _), value in samples.items()
        if name
        in ("salespulse_events_consumed_total", "salespulse_events_rejected_total")
    )


def drain_seconds(
    worker: Worker, expected: int, timeout: float = 1800.0, poll: float = 0.1
) -> float:
    """Return the seconds the worker took to fold ``expected`` events.

    The time runs from the last /metrics that showed nothing folded to the
    first that showed them all. /metrics is refreshed about once a second, so
    the figure errs long, by up to a second or so.
    """
    deadline = time.monotonic() + timeout
    nothing_yet = time.perf_counter()
    while time.monotonic() < deadline:
        done = folded(worker.metrics_url)
        now = time.perf_counter()
        if done == 0:
            nothing_yet = now
        elif done >= expected:
            return now - nothing_yet
        time.sleep(poll)
    raise BenchError(f"the worker folded fewer than {expected:,} events in time")


def kpi_lines(url: str) -> list[bytes]:
    """Return the KPI series of /metrics (not the worker's own health series)."""
    with urllib.request.urlopen(url, timeout=60) as reply:
        text: bytes = reply.read()
    return sorted(
        line
        for line in text.splitlines()
        if line and not line.startswith(b"#") and not _is_health(line)
    )


# The worker's own health series, and the elapsed shares that move with the
# clock: not KPI numbers two workers must agree on.
HEALTH = (
    b"salespulse_window_elapsed_ratio",
    b"salespulse_events_",
    b"salespulse_batches",
    b"salespulse_event_",
    b"salespulse_consumer_lag",
    b"salespulse_partition_owned",
    b"salespulse_recovery_",
    b"salespulse_worker_info",
    b"python_",
    b"process_",
)


def _is_health(line: bytes) -> bool:
    return line.startswith(HEALTH)


def series_count(url: str) -> int:
    """Return the number of series on /metrics."""
    with urllib.request.urlopen(url, timeout=60) as reply:
        text: bytes = reply.read()
    return sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))


def runs_of(count: int, measure: Callable[[int], float]) -> tuple[float, ...]:
    """Return ``measure(run)`` for each of ``count`` runs."""
    return tuple(measure(run) for run in range(count))
