"""The ``simulate`` subcommand: run the simulator into Kafka or a file."""

import argparse
import asyncio
import json
import logging
import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from kpis.errors import KpiError
from kpis.events import Feed
from streams.arguments import aware_time
from streams.config import load_settings
from streams.errors import StreamsError
from streams.simulator.company import Company, default_company
from streams.simulator.errors import SimulatorError
from streams.simulator.faults import FaultShares, messages
from streams.simulator.model import Simulation
from streams.simulator.reference import reference_document
from streams.simulator.runner import (
    Pacing,
    limit_events,
    parse_duration,
    send_messages,
)
from streams.simulator.scheduling import DEFAULT_RATES
from streams.simulator.seed import seed_reference
from streams.simulator.sinks import FileSink, KafkaSink, Sink

logger = logging.getLogger(__name__)

DEFAULT_RATE = 100.0


def register(
    subcommands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    """Add the ``simulate`` subcommand to the command line."""
    parser = subcommands.add_parser(
        "simulate",
        help="generate realistic sales events into Kafka or a JSON-lines file",
        description="Generate a seeded, reproducible stream of CloudEvents from "
        "a simulated sales organisation.",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--start",
        type=aware_time,
        default=None,
        help="simulated start, RFC 3339 with an offset (now)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"messages per wall-clock second, 0 for no cap ({DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=0.0,
        help="simulated seconds per wall-clock second, 0 for none (0)",
    )
    parser.add_argument(
        "--events", type=_count, default=None, help="stop after N events"
    )
    parser.add_argument(
        "--duration",
        default=None,
        help="stop after this much simulated time after the start, e.g. 30d",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=None,
        help="write JSON lines to this file instead of producing to Kafka",
    )
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="Kafka brokers, overriding SALESPULSE_KAFKA_BOOTSTRAP_SERVERS",
    )
    parser.add_argument(
        "--team-pace",
        action="append",
        type=_team_pace,
        default=[],
        metavar="TEAM=SHARE",
        help="a team wins only this share (0 to 1) of its deals, to drive its "
        "pace below target; repeatable",
    )
    parser.add_argument(
        "--seed-redis",
        action="store_true",
        help="load the simulated company's reference data (reps, targets, "
        "rates) into Redis first, unless Redis holds reference data already",
    )
    parser.add_argument(
        "--reference-file",
        type=Path,
        default=None,
        help="also write the simulated company's reference data (reps, teams, "
        "stage weights, exchange rates, campaign channels) as JSON for "
        "`salespulse replay --reference`",
    )
    for fault, text in (
        ("duplicates", "events sent twice"),
        ("late", "events sent hours to days late"),
        ("malformed", "events followed by a broken message"),
    ):
        parser.add_argument(
            f"--{fault}", type=float, default=0.0, help=f"share of {text} (0)"
        )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the simulator with the parsed ``args``; return the exit status."""
    try:
        return asyncio.run(_simulate(args))
    except (StreamsError, KpiError) as error:
        logger.error("simulate failed: %s", error)
        return 1


async def _simulate(args: argparse.Namespace) -> int:
    if args.bootstrap_servers:
        settings = load_settings(kafka_bootstrap_servers=args.bootstrap_servers)
    else:
        settings = load_settings()
    start = args.start or datetime.now(UTC).replace(microsecond=0)
    until = start + parse_duration(args.duration) if args.duration else None
    shares = FaultShares(args.duplicates, args.late, args.malformed)
    pacing = Pacing(args.rate, args.speedup)

    company = default_company()
    if args.reference_file is not None:
        _write_reference(args.reference_file, company, start)
    if args.seed_redis:
        await seed_reference(settings, company, start)
    rates = replace(DEFAULT_RATES, team_pace=tuple(args.team_pace))
    simulation = Simulation(company, seed=args.seed, start=start, rates=rates)
    events = limit_events(simulation.events(), max_events=args.events, until=until)
    outgoing = messages(
        events, shares, seed=args.seed, max_bytes=settings.max_event_bytes
    )

    topics = {feed: settings.topic_for(feed) for feed in Feed}
    sink: Sink
    if args.file is not None:
        sink = FileSink(args.file, topics)
    else:
        sink = KafkaSink(
            settings.kafka_bootstrap_servers,
            topics,
            partitions=settings.topic_partitions,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    await sink.start()
    try:
        summary = await send_messages(
            outgoing, sink, start=start, pacing=pacing, stop=stop
        )
    finally:
        await sink.stop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signal_number)
    logger.info(
        "simulator done messages=%s seconds=%.1f stopped_by_signal=%s",
        summary.messages,
        summary.seconds,
        stop.is_set(),
    )
    return 0


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _write_reference(path: Path, company: Company, start: datetime) -> None:
    document = reference_document(company, around=start)
    try:
        path.write_text(json.dumps(document, indent=2) + "\n")
    except OSError as error:
        raise SimulatorError(f"--reference-file {path}: {error}") from error
    logger.info("wrote the reference data path=%s", path)


def _team_pace(text: str) -> tuple[str, float]:
    team, separator, share = text.partition("=")
    try:
        value = float(share)
    except ValueError:
        value = -1.0
    if not separator or not team or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not TEAM=SHARE with a share from 0 to 1"
        )
    return team, value
