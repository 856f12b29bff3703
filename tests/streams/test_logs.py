"""The brake on repeated log lines."""

from __future__ import annotations

import logging

from streams.logs import RepeatFilter


def record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)


def test_a_repeated_aiokafka_line_passes_once_then_with_a_count() -> None:
    brake = RepeatFilter("aiokafka", seconds=0.0)
    held = RepeatFilter("aiokafka", seconds=3600)
    assert held.filter(record("aiokafka.conn", "Unable connect to %s"))
    assert not held.filter(record("aiokafka.conn", "Unable connect to %s"))
    assert not held.filter(record("aiokafka.conn", "Unable connect to %s"))
    assert held.filter(record("aiokafka.conn", "another message"))
    # Once the time is up, the next one passes and says how many were held.
    assert brake.filter(record("aiokafka.conn", "x"))
    held.seconds = 0.0
    again = record("aiokafka.conn", "Unable connect to %s")
    assert held.filter(again)
    assert again.msg == "Unable connect to %s (and 2 more like it)"


def test_other_loggers_are_never_held_back() -> None:
    held = RepeatFilter("aiokafka", seconds=3600)
    assert all(held.filter(record("streams.engine", "same")) for _ in range(5))
