"""The ``salespulse dashboards`` command: generate dashboards and rules."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from dashboards.build import build, repository_root
from dashboards.errors import DashboardsError

logger = logging.getLogger(__name__)


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dashboards`` command and its ``build`` action to ``subcommands``."""
    parser = subcommands.add_parser(
        "dashboards",
        help="generate Grafana dashboards, Prometheus rules and provisioning",
        description="Generate Grafana dashboards, Prometheus rules, Grafana "
        "provisioning and docs/metrics.md from dashboards/registry.py.",
    )
    actions = parser.add_subparsers(dest="dashboards_action", metavar="ACTION")
    actions.required = True
    build_parser = actions.add_parser(
        "build",
        help="write the generated files",
        description="Write deploy/grafana/dashboards/*.json, Grafana's "
        "provisioning files, deploy/prometheus/rules/*.yml and docs/metrics.md.",
    )
    build_parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="root of the tree to write into (default: this checkout)",
    )
    build_parser.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    """Write the generated files where ``args.out`` says; return the exit code."""
    out: Path | None = args.out or repository_root()
    if out is None:
        print(
            "salespulse dashboards build: not run from a checkout; "
            "name the target directory with --out DIR",
            file=sys.stderr,
        )
        return 2
    try:
        written = build(out)
    except DashboardsError as error:
        print(f"salespulse dashboards build: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
