"""Parts of a scenario's log, for a replay of the messages produced so far."""

from __future__ import annotations

from pathlib import Path

from tests.streams.engine_harness import Scenario


def first_lines(scenario: Scenario, count: int) -> Path:
    """Write the log's first ``count`` lines (one per message) to their own file."""
    part = scenario.log.with_name(f"first-{count}.jsonl")
    with scenario.log.open("rb") as whole, part.open("wb") as out:
        for number, line in enumerate(whole):
            if number >= count:
                break
            out.write(line)
    return part
