"""The ``salespulse`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dashboards.cli import register as register_dashboards
from streams.config import ConfigError, load_settings
from streams.logs import configure
from streams.reference_cli import register as register_reference
from streams.replay import register as register_replay
from streams.simulator.cli import register as register_simulator


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="salespulse",
        description="Streaming sales KPIs from Kafka events to Prometheus.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)

    worker = subcommands.add_parser(
        "worker", help="run a worker that consumes the input topics"
    )
    worker.set_defaults(handler=_run_worker)

    register_simulator(subcommands)
    register_replay(subcommands)
    register_reference(subcommands)
    register_dashboards(subcommands)
    return parser


def _run_worker(args: argparse.Namespace) -> int:
    # Faust is imported only by the commands that run it: it is slow to load.
    from streams.worker import run_worker  # noqa: PLC0415

    return run_worker(load_settings())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    configure()
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"salespulse: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
