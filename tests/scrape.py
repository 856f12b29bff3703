"""Read a worker's ``/metrics`` in tests, and wait for it to show something."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Mapping

from prometheus_client.parser import text_string_to_metric_families

Series = tuple[str, frozenset[tuple[str, str]]]


def scrape(url: str) -> dict[Series, float]:
    """Return every sample of an exposition, keyed by name and labels."""
    with urllib.request.urlopen(url, timeout=5.0) as reply:
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def values_of(
    samples: Mapping[Series, float], name: str, label: str
) -> dict[str, float]:
    """Return ``{label value: sample value}`` of the samples called ``name``."""
    return {
        dict(labels)[label]: value
        for (sample_name, labels), value in samples.items()
        if sample_name == name
    }


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:g} s still waiting for {what}")
        time.sleep(0.2)
