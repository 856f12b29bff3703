"""Run every benchmark against one broker and one Redis; print the figures.

Run as ``.venv/bin/python -m bench [--events N] [--runs K] [--only NAME...]``.
Each figure is the median of K runs with the spread, and its target.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from bench import latency, recovery, scrapes, throughput
from bench.anchors import faust_rate, plain_rate
from bench.harness import (
    Figure,
    Stack,
    prepare,
    read_messages,
    report,
    reps_for,
    runs_of,
    simulated,
)
from kpis.events import Feed

SUITES = ("throughput", "latency", "scrapes", "recovery")
FAUST_RATIO_TARGET = 10.0
T = TypeVar("T")


def run_throughput(stack: Stack, events: int, runs: int) -> float:
    """Measure the worker and both anchors on one topic set; return its rate."""
    reps = reps_for(events)
    messages = read_messages(simulated(reps, events))
    deals = sum(1 for feed, _, _ in messages if feed is Feed.DEALS)
    print(f"throughput: {len(messages):,} events ({deals:,} deal events), {reps} reps")
    prepare(stack, "year", reps, messages)
    worker = throughput.drain(stack, "year", len(messages), runs)
    plain = runs_of(runs, lambda run: plain_rate(stack, "year", len(messages), run))
    faust = runs_of(runs, lambda run: faust_rate(stack, "year", deals, run))
    ratios = tuple(rate / min(faust) for rate in worker.rates)
    report(
        [
            *worker.figures(),
            Figure("plain aiokafka consumer, decode only", plain, "events/s"),
            Figure("Faust agent, a table update per deal event", faust, "events/s"),
            Figure("worker / Faust agent", ratios, "x", FAUST_RATIO_TARGET),
            Figure("worker memory once drained", worker.rss_mib, "MiB"),
        ]
    )
    return min(worker.rates)


def _suite(suite: Callable[[], T]) -> T | None:
    """Run one suite; print its failure and go on with the next."""
    try:
        return suite()
    except Exception as error:  # a failed suite must not hide the others
        print(f"  FAILED: {error!r}", flush=True)
        return None


def main() -> None:
    """Parse the arguments and run the suites asked for."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=SUITES, default=list(SUITES))
    args = parser.parse_args()

    events, runs = args.events, args.runs
    # A SIGTERM (from timeout, or a kill) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    began = time.monotonic()
    stack = Stack()
    try:
        with stack:
            rate = 20_000.0
            if "throughput" in args.only:
                measured = _suite(lambda: run_throughput(stack, events, runs))
                rate = measured or rate
            for name, suite in (
                ("latency", lambda: latency.measure(stack, events, runs, rate / 2)),
                ("scrapes", lambda: scrapes.measure(stack, events, runs)),
                ("recovery", lambda: recovery.measure(stack, events, runs)),
            ):
                if name in args.only:
                    report(_suite(suite) or [])
    finally:
        shutil.rmtree(stack.folder, ignore_errors=True)
    print(f"done in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
