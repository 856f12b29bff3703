"""Time the replay's hot path: decoding, folding and one ``samples()``.

Run as ``.venv/bin/python -m bench.replay [--events N] [--profile]``. The
first run writes a simulator log of one simulated year of the default company
under ``.cache/bench/`` (reused afterwards); every run then times, on one
core, three passes of decode + fold + one ``samples()`` at the end, and three
of decoding alone, and prints events per second: the median with the spread.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kpis.events import Event, decode_event
from kpis.reference import ReferenceData
from kpis.state import KpiState
from streams.simulator.company import default_company
from streams.simulator.faults import messages
from streams.simulator.model import Simulation
from streams.simulator.reference import reference_document
from streams.simulator.runner import limit_events

CACHE = Path(".cache/bench")
START = datetime(2026, 1, 1, tzinfo=UTC)
RUNS = 3


def simulated_log(events: int | None) -> Path:
    """Return the cached log of a simulated year (its first ``events`` events)."""
    path = CACHE / f"year-{events or 'all'}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    simulation = Simulation(default_company(), seed=1, start=START)
    year = limit_events(
        simulation.events(), max_events=events, until=START + timedelta(days=365)
    )
    partial = path.with_suffix(".partial")
    with partial.open("wb") as log:
        for message in messages(year):
            log.write(message.value + b"\n")
    partial.rename(path)
    return path


def decode_all(lines: list[bytes]) -> list[Event]:
    """Decode every line."""
    return [decode_event(line) for line in lines]


def fold_all(lines: list[bytes], reference: ReferenceData) -> int:
    """Decode, fold and take the samples once; return the number of samples."""
    state = KpiState(reference)
    state.fold_all(decode_event(line) for line in lines)
    return sum(1 for _ in state.samples(START + timedelta(days=365)))


def timed(step: Callable[[], object], count: int) -> list[float]:
    """Return the events per second of ``RUNS`` runs of ``step``."""
    rates = []
    for _ in range(RUNS):
        began = time.perf_counter()
        step()
        rates.append(count / (time.perf_counter() - began))
    return rates


def describe(name: str, rates: list[float]) -> str:
    """Return the median and the spread of ``rates``."""
    return (
        f"{name}: {statistics.median(rates):,.0f} events/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {RUNS} runs)"
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("--events", type=int, default=None, help="first N events")
    parser.add_argument("--profile", action="store_true", help="cProfile one fold")
    args = parser.parse_args()

    lines = simulated_log(args.events).read_bytes().splitlines()
    reference = ReferenceData.from_mapping(reference_document(default_company()))
    print(f"{len(lines):,} events, {sum(map(len, lines)) / len(lines):.0f} bytes each")
    print(describe("decode only", timed(lambda: decode_all(lines), len(lines))))
    fold = timed(lambda: fold_all(lines, reference), len(lines))
    print(describe("decode + fold + samples", fold))
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(fold_all, lines, reference)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
