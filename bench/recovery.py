"""Placeholder until written."""

from bench.harness import Figure, Stack


def measure(stack: Stack, events: int, runs: int, *rest: float) -> list[Figure]:
    """Return nothing yet."""
    return []
