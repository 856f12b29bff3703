"""The ``replay`` subcommand: every KPI of a JSON-lines event log, in one pass.

The replay reads a log as the simulator writes it, decodes each line as the
worker would (with the feed of the line's topic when the line names one),
folds the valid events whose time is not after ``--as-of`` into one
:class:`~kpis.state.KpiState`, and prints the KPIs of :mod:`kpis.report`
as tables, the Prometheus exposition of the sums, or both. It is the
reference the live engine is compared with.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from kpis.events import Event, Feed, InvalidEvent, check_horizon, decode_event
from kpis.exposition import exposition
from kpis.periods import PERIOD_WINDOWS, Window
from kpis.reference import ReferenceData, ReferenceError
from kpis.report import churn_anchors, window_report
from kpis.state import KpiState
from streams.arguments import aware_time
from streams.config import Settings, load_settings
from streams.report_table import render_reports
from streams.simulator.sinks import parse_line

logger = logging.getLogger(__name__)

DEFAULT_WINDOWS = (
    Window.MONTH_TO_DATE,
    Window.PREVIOUS_MONTH,
    Window.QUARTER_TO_DATE,
    Window.YEAR_TO_DATE,
)
FORMATS = ("table", "prometheus", "both")


@dataclass
class ReplayResult:
    """What a replay read, rejected, dropped and folded."""

    lines: int = 0
    folded: int = 0
    after_as_of: int = 0
    rejects: Counter[str] = field(default_factory=Counter)


def register(
    subcommands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``replay`` subcommand to the command line."""
    parser = subcommands.add_parser(
        "replay",
        help="compute every KPI of a JSON-lines event log",
        description="Read a JSON-lines event log (as `salespulse simulate --file` "
        "writes it), fold the events up to --as-of and print every KPI and/or "
        "the Prometheus exposition.",
    )
    parser.add_argument("file", type=Path, help="the JSON-lines event log")
    parser.add_argument(
        "--as-of",
        type=aware_time,
        default=None,
        help="RFC 3339 instant the windows are anchored at; later events are "
        "left out (now, UTC)",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="reference data as a JSON document (the defaults otherwise)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--window",
        action="append",
        choices=[window.value for window in PERIOD_WINDOWS],
        default=None,
        help="window of the tables, repeatable "
        f"({', '.join(w.value for w in DEFAULT_WINDOWS)})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run a replay with the parsed ``args``; return the exit status."""
    try:
        reference = load_reference(args.reference)
    except ReferenceError as error:
        print(f"salespulse replay: {args.reference}: {error}", file=sys.stderr)
        return 2
    as_of = args.as_of or datetime.now(UTC)
    windows = tuple(Window(w) for w in args.window) if args.window else DEFAULT_WINDOWS
    try:
        with args.file.open("rb") as log:
            state, result = replay(log, reference, as_of)
    except OSError as error:
        print(f"salespulse replay: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    samples = list(state.samples(as_of))
    if args.format in ("table", "both"):
        earlier = [list(state.samples(at)) for at in churn_anchors(reference, as_of)]
        reports = [
            window_report(samples, reference, as_of, window, earlier=earlier)
            for window in windows
        ]
        sys.stdout.write(render_summary(result, as_of))
        sys.stdout.write(render_reports(reports))
    if args.format in ("prometheus", "both"):
        sys.stdout.write(exposition(samples, reference, as_of))
    return 0


def load_reference(path: Path | None) -> ReferenceData:
    """Return the reference data of a JSON file, or the defaults without one.

    Raises:
        ReferenceError: the file cannot be read, is not JSON or holds a value
            that is not accepted.
    """
    if path is None:
        return ReferenceData()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceError(f"not a readable JSON document: {error}") from error
    if not isinstance(document, dict):
        raise ReferenceError("not a JSON object")
    return ReferenceData.from_mapping(document)


def replay(
    log: IO[bytes],
    reference: ReferenceData,
    as_of: datetime,
    settings: Settings | None = None,
) -> tuple[KpiState, ReplayResult]:
    """Fold the events of ``log`` up to ``as_of``; return the state and counts.

    Args:
        log: the JSON-lines event log.
        reference: the reference data to fold with.
        as_of: the instant the windows are anchored at; later events are
            left out.
        settings: the topic names and limits; the environment's when left out.
    """
    settings = settings or load_settings()
    feeds = {settings.topic_for(feed): feed for feed in Feed}
    result = ReplayResult()
    events = _events_until(
        decoded(log, feeds, settings.max_event_bytes, result),
        as_of,
        settings.late_event_horizon_days,
        result,
    )
    state = KpiState(reference)
    for _, error in state.fold_all(events):
        result.folded -= 1
        result.rejects[error.reason.value] += 1
    logger.info(
        "replay done lines=%s folded=%s rejected=%s after_as_of=%s",
        result.lines,
        result.folded,
        sum(result.rejects.values()),
        result.after_as_of,
    )
    return state, result


def decoded(
    lines: Iterable[bytes],
    feeds: Mapping[str, Feed],
    max_bytes: int,
    result: ReplayResult,
) -> Iterator[Event]:
    """Yield the events of log lines; count the lines and the rejects by reason."""
    for line in lines:
        if not line.strip():
            continue
        result.lines += 1
        record = parse_line(line)
        feed = feeds.get(record.topic) if record.topic is not None else None
        try:
            yield decode_event(record.payload, feed=feed, max_bytes=max_bytes)
        except InvalidEvent as error:
            result.rejects[error.reason.value] += 1


def _events_until(
    events: Iterable[Event], as_of: datetime, horizon_days: int, result: ReplayResult
) -> Iterator[Event]:
    for event in events:
        if event.time > as_of:
            result.after_as_of += 1
            continue
        try:
            check_horizon(event, as_of, horizon_days)
        except InvalidEvent as error:
            result.rejects[error.reason.value] += 1
            continue
        result.folded += 1
        yield event


def render_summary(result: ReplayResult, as_of: datetime) -> str:
    """Return the lines that say what the replay read and left out."""
    lines = [
        f"as of {as_of.isoformat()}: {result.lines} lines, "
        f"{result.folded} events folded, {result.after_as_of} after as-of, "
        f"{sum(result.rejects.values())} rejected",
    ]
    lines.extend(
        f"  rejected {reason}: {count}"
        for reason, count in sorted(result.rejects.items())
    )
    return "".join(f"{line}\n" for line in lines) + "\n"
