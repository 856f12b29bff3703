"""Send simulated messages to a sink at a chosen pace, until a limit or a signal."""

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from kpis.events import Event
from streams.simulator.errors import SimulatorError
from streams.simulator.faults import Message
from streams.simulator.sinks import Sink

logger = logging.getLogger(__name__)

_YIELD_EVERY = 500


@dataclass(frozen=True)
class Pacing:
    """How fast messages go out, in wall-clock time.

    ``rate`` caps the messages per second (0: no cap). ``speedup`` maps
    simulated time to wall time: a message whose simulated send time is ``s``
    seconds after the start goes out no earlier than ``s / speedup`` seconds
    after the run began (0: no mapping). With both at 0 the run goes as fast
    as the sink takes messages.
    """

    rate: float = 0.0
    speedup: float = 0.0

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise SimulatorError(f"rate={self.rate!r}: expected 0 or more")
        if self.speedup < 0:
            raise SimulatorError(f"speedup={self.speedup!r}: expected 0 or more")

    def due(self, index: int, sent: datetime, start: datetime) -> float:
        """Return the wall-clock seconds after the start when a message is due."""
        by_rate = index / self.rate if self.rate else 0.0
        ahead = (sent - start).total_seconds()
        by_time = max(ahead, 0.0) / self.speedup if self.speedup else 0.0
        return max(by_rate, by_time)


@dataclass(frozen=True)
class RunSummary:
    """What a run sent."""

    messages: int
    seconds: float
    last_time: datetime | None


def limit_events(
    events: Iterable[Event],
    *,
    max_events: int | None = None,
    until: datetime | None = None,
) -> Iterator[Event]:
    """Yield at most ``max_events`` events, none with a ``time`` after ``until``."""
    limited = iter(events)
    if until is not None:
        limited = itertools.takewhile(lambda event: event.time <= until, limited)
    if max_events is not None:
        limited = itertools.islice(limited, max_events)
    return limited


async def send_messages(
    messages: Iterable[Message],
    sink: Sink,
    *,
    start: datetime,
    pacing: Pacing = Pacing(),
    stop: asyncio.Event | None = None,
    progress_seconds: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> RunSummary:
    """Send ``messages`` to a started ``sink`` and return what was sent.

    Args:
        messages: the messages, in the order to send them.
        sink: a started sink; the caller stops it.
        start: the simulated time that maps to the beginning of the run.
        pacing: the rate and the speed-up.
        stop: set it to end the run after the current message.
        progress_seconds: how often to log progress at INFO.
        clock: the wall clock, in seconds.
    """
    began = last_report = clock()
    count = 0
    last_time: datetime | None = None
    for message in messages:
        if stop is not None and stop.is_set():
            break
        wait = pacing.due(count, message.sent, start) - (clock() - began)
        if wait > 0:
            await asyncio.sleep(wait)
        elif count % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        await sink.send(message)
        count += 1
        last_time = message.sent
        if clock() - last_report >= progress_seconds:
            last_report = clock()
            _report(count, last_report - began, last_time)
    seconds = clock() - began
    _report(count, seconds, last_time)
    return RunSummary(count, seconds, last_time)


def _report(count: int, seconds: float, last_time: datetime | None) -> None:
    rate = count / seconds if seconds > 0 else 0.0
    simulated = last_time.isoformat() if last_time else "-"
    logger.info(
        "simulator progress sent=%s rate=%.0f/s simulated_time=%s",
        count,
        rate,
        simulated,
    )


def parse_duration(text: str) -> timedelta:
    """Read a duration such as ``90s``, ``45m``, ``12h``, ``30d`` or ``2w``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number, unit = text[:-1], text[-1:]
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if unit not in units or amount <= 0:
        raise SimulatorError(
            f"duration={text!r}: expected a positive number followed by "
            "s, m, h, d or w (e.g. 30d)"
        )
    return timedelta(seconds=amount * units[unit])
