"""Run the whole SalesPulse stack on this machine, fed by the simulator.

``python -m deploy.stack`` starts, on loopback: Kafka (KRaft), Redis,
Alertmanager, the workers, Prometheus scraping them with the project's rule
files, and the simulator. It rebuilds the dashboards and rules first, waits
until ``/metrics`` shows events of every type, prints where everything is,
and then runs until SIGINT or SIGTERM, when it stops every process it started,
newest first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from prometheus_client.parser import text_string_to_metric_families

from deploy.broker import Kafka
from deploy.engine import REPOSITORY, Simulator, Worker
from deploy.monitoring import Alertmanager, Prometheus, write_prometheus_config
from deploy.services import DeployError, Redis, Service
from kpis.events import EVENT_TYPES
from streams.config import load_settings
from streams.simulator.company import default_company
from streams.simulator.seed import seed_reference

log = logging.getLogger("salespulse.stack")

RULES_FOLDER = REPOSITORY / "deploy" / "prometheus" / "rules"
ALERTMANAGER_CONFIG = REPOSITORY / "deploy" / "alertmanager" / "alertmanager.yml"
DASHBOARDS_FOLDER = REPOSITORY / "deploy" / "grafana" / "dashboards"


class Stopped(Exception):
    """SIGINT or SIGTERM asked the stack to stop."""


@dataclass
class Stack:
    """The processes of a running stack, in the order they were started."""

    services: list[Service] = field(default_factory=list)

    def start(self, service: Service) -> None:
        """Start ``service`` and remember it, so that it is stopped at the end."""
        self.services.append(service)
        service.start()

    def stop(self) -> None:
        """Stop every process, newest first."""
        while self.services:
            self.services.pop().stop()

    def exited(self) -> Service | None:
        """Return a service whose process has ended on its own, if any."""
        return next((s for s in self.services if not s.is_running()), None)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the options of the stack."""
    parser = argparse.ArgumentParser(
        prog="deploy/up.sh", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--workdir", type=Path, default=REPOSITORY / ".run")
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--kafka-controller-port", type=int, default=9095)
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--alertmanager-port", type=int, default=9093)
    parser.add_argument(
        "--exporter-port",
        type=int,
        default=9464,
        help="first worker's /metrics port; the next workers take the next ports",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="simulated events per second"
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=3600.0,
        help="simulated seconds per wall-clock second",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--team-pace",
        action="append",
        default=[],
        metavar="TEAM=SHARE",
        help="the team wins only this share of its deals (to see quota slippage)",
    )
    for fault in ("duplicates", "late", "malformed"):
        parser.add_argument(
            f"--{fault}",
            type=float,
            default=0.0,
            help=f"share of simulated events sent with this fault ({fault})",
        )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stack until a signal; return the exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_arguments(argv)
    began = time.monotonic()
    stack = Stack()
    _stop_on_signals()
    try:
        workers = bring_up(stack, args)
        wait_for_every_event_type(stack, workers)
        log.info("every event type consumed after %.1f s", time.monotonic() - began)
        print_summary(args, stack, workers)
        watch(stack)
    except Stopped:
        log.info("stopping: signal received")
        return 0
    except DeployError as error:
        log.error("%s", error)
        return 1
    finally:
        stack.stop()
    return 0


def bring_up(stack: Stack, args: argparse.Namespace) -> list[Worker]:
    """Start every component of the stack; return the workers."""
    workdir: Path = args.workdir.resolve()
    build_dashboards()

    kafka = Kafka(
        workdir / "kafka",
        port=args.kafka_port,
        controller_port=args.kafka_controller_port,
    )
    stack.start(kafka)
    redis = Redis(workdir / "redis", port=args.redis_port, persistent=True)
    stack.start(redis)
    asyncio.run(
        seed_reference(
            load_settings({"SALESPULSE_REDIS_URL": redis.url}),
            default_company(),
            datetime.now(UTC),
        )
    )
    alertmanager = Alertmanager(
        workdir / "alertmanager",
        port=args.alertmanager_port,
        config_path=ALERTMANAGER_CONFIG,
    )
    stack.start(alertmanager)

    settings = {
        "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SALESPULSE_REDIS_URL": redis.url,
    }
    workers = [
        Worker(
            workdir / "workers",
            settings,
            port=args.exporter_port + index,
            name=f"worker-{index + 1}",
        )
        for index in range(args.workers)
    ]
    for worker in workers:
        stack.start(worker)

    prometheus_config = workdir / "prometheus" / "prometheus.yml"
    prometheus_config.parent.mkdir(parents=True, exist_ok=True)
    write_prometheus_config(
        prometheus_config,
        scrape_targets=[f"127.0.0.1:{worker.port}" for worker in workers],
        rule_files=sorted(RULES_FOLDER.glob("*.yml")),
        alertmanager=f"127.0.0.1:{alertmanager.port}",
    )
    stack.start(
        Prometheus(
            workdir / "prometheus",
            port=args.prometheus_port,
            config_path=prometheus_config,
        )
    )
    stack.start(
        Simulator(
            workdir / "simulator",
            settings,
            [
                f"--seed={args.seed}",
                f"--rate={args.rate:g}",
                f"--speedup={args.speedup:g}",
                f"--duplicates={args.duplicates:g}",
                f"--late={args.late:g}",
                f"--malformed={args.malformed:g}",
                *(f"--team-pace={pace}" for pace in args.team_pace),
            ],
        )
    )
    return workers


def build_dashboards() -> None:
    """Regenerate the dashboards, provisioning files and rule files."""
    command = [sys.executable, "-m", "streams.cli", "dashboards", "build"]
    result = subprocess.run(
        command, cwd=REPOSITORY, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DeployError(
            f"building the dashboards failed ({' '.join(command)}):\n{result.stderr}"
        )


def wait_for_every_event_type(
    stack: Stack, workers: Sequence[Worker], timeout: float = 120.0
) -> None:
    """Return once the workers together have consumed events of every type."""
    deadline = time.monotonic() + timeout
    missing = set(EVENT_TYPES)
    while missing:
        _raise_if_exited(stack)
        if time.monotonic() > deadline:
            raise DeployError(
                f"no event of type {', '.join(sorted(missing))} consumed after "
                f"{timeout:g} s; see the logs in {workers[0].workdir}"
            )
        time.sleep(0.5)
        seen: set[str] = set()
        for worker in workers:
            seen |= consumed_types(worker.metrics_url)
        missing -= seen


def consumed_types(metrics_url: str) -> set[str]:
    """Return the event types a worker's ``/metrics`` counts as consumed."""
    with urllib.request.urlopen(metrics_url, timeout=2.0) as reply:
        text = reply.read().decode()
    return {
        sample.labels["type"]
        for family in text_string_to_metric_families(text)
        if family.name == "salespulse_events_consumed"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value > 0
    }


def print_summary(
    args: argparse.Namespace, stack: Stack, workers: Sequence[Worker]
) -> None:
    """Tell the user where everything is."""
    lines = [
        "SalesPulse is running. Ctrl-C stops everything.",
        *(f"  metrics      {worker.metrics_url}" for worker in workers),
        f"  prometheus   http://127.0.0.1:{args.prometheus_port}/",
        f"  alertmanager http://127.0.0.1:{args.alertmanager_port}/",
        f"  kafka        127.0.0.1:{args.kafka_port}",
        f"  redis        redis://127.0.0.1:{args.redis_port}/0",
        f"  dashboards   {DASHBOARDS_FOLDER} (import into Grafana, or use "
        "docker compose)",
        f"  logs         {args.workdir.resolve()}/*/",
    ]
    print("\n".join(lines), flush=True)


def watch(stack: Stack) -> None:
    """Wait for a signal; fail if a process of the stack ends on its own."""
    while True:
        _raise_if_exited(stack)
        time.sleep(1.0)


def _raise_if_exited(stack: Stack) -> None:
    exited = stack.exited()
    if exited is not None:
        raise DeployError(
            f"{exited.component} ended on its own; its log is {exited.log_path}"
        )


def _stop_on_signals() -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        # Once stopping has begun, a second signal must not cut the teardown
        # short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


if __name__ == "__main__":
    sys.exit(main())
