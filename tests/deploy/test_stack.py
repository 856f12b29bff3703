"""The main job: the whole stack comes up, is fed, and stops without a trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.services import free_port
from kpis.events import EVENT_TYPES
from tests.scrape import scrape, values_of, wait_for

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
READY_LINE = "SalesPulse is running."


def children_of(pid: int) -> set[int]:
    """Return the pids whose parent is ``pid``."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after it do not.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            children.add(int(entry.name))
    return children


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    """Run ``python -m deploy.stack`` on free ports; yield it and its exporter."""
    exporter_port = free_port()
    log_path = tmp_path / "stack.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.stack",
                f"--workdir={tmp_path / 'run'}",
                f"--kafka-port={free_port()}",
                f"--kafka-controller-port={free_port()}",
                f"--redis-port={free_port()}",
                f"--prometheus-port={free_port()}",
                f"--alertmanager-port={free_port()}",
                f"--exporter-port={exporter_port}",
                "--rate=300",
            ],
            cwd=REPOSITORY,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield process, exporter_port, log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_stack_shows_every_event_type_and_stops_on_sigterm(
    stack: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, exporter_port, log_path = stack
    wait_for(
        lambda: READY_LINE in log_path.read_text() or process.poll() is not None,
        timeout=180,
        what="the stack to report that it runs",
    )
    assert process.poll() is None, log_path.read_text()[-3000:]

    consumed = values_of(
        scrape(f"http://127.0.0.1:{exporter_port}/metrics"),
        "salespulse_events_consumed_total",
        "type",
    )
    assert set(consumed) == set(EVENT_TYPES)
    assert all(count > 0 for count in consumed.values())

    started = children_of(process.pid)
    # Kafka, Redis, Alertmanager, the worker, Prometheus and the simulator.
    assert len(started) == 6, started
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if alive(pid)] == []
