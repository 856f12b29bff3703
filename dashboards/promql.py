"""Build the PromQL of rules and panels: sums, reference series, selectors.

Rules aggregate ``by (job, ...)`` so that several deployments can share one
Prometheus. KPI measures are added over workers (each exports the sums of the
partitions it owns); reference series are the same on every worker and are
taken with ``max``, never summed.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.model import RecordingRule

JOB_MATCHER = 'job=~"$job"'
"""The matcher every panel query carries: the dashboard's ``job`` variable."""

PREFIX = "salespulse_"


def level_name(labels: Sequence[str]) -> str:
    """Return the level part of a rule name: the labels it keeps, by ``_``."""
    return "_".join(labels)


def record_name(labels: Sequence[str], metric: str, operation: str) -> str:
    """Return the rule name ``level:metric:operations`` of ``metric``."""
    return f"{level_name(labels)}:{metric}:{operation}"


def by(labels: Sequence[str]) -> str:
    """Return the ``by (...)`` clause that keeps ``labels``."""
    return f"by ({', '.join(labels)})"


def on(labels: Sequence[str]) -> str:
    """Return the ``on (...)`` clause that matches on ``labels``."""
    return f"on ({', '.join(labels)})"


def selector(metric: str, **matchers: str) -> str:
    """Return ``metric`` with equality matchers, in the order given."""
    if not matchers:
        return metric
    inner = ", ".join(f'{name}="{value}"' for name, value in matchers.items())
    return f"{metric}{{{inner}}}"


def panel_selector(metric: str, **matchers: str) -> str:
    """Return ``metric`` selected on the ``job`` variable and ``matchers``."""
    inner = ", ".join(
        [JOB_MATCHER, *(f'{name}="{value}"' for name, value in matchers.items())]
    )
    return f"{metric}{{{inner}}}"


def panel_rate(metric: str) -> str:
    """Return the per-second rate of counter ``metric`` over the panel's step."""
    return f"rate({panel_selector(metric)}[$__rate_interval])"


def sum_rule(labels: Sequence[str], measure: str, fill: str = "") -> RecordingRule:
    """Return the rule adding measure ``salespulse_<measure>`` up by ``labels``.

    Args:
        labels: the labels kept; ``job`` first.
        measure: the measure's name without the prefix.
        fill: a vector ``or``-ed after the sum, for the label sets the measure
            has no series for yet (a team that has won nothing has a target).
    """
    metric = PREFIX + measure
    expr = f"sum {by(labels)} ({metric})"
    if fill:
        expr += f"\nor{fill}"
    return RecordingRule(
        record=record_name(labels, metric, "sum"),
        expr=expr,
        meaning=f"`{metric}` added up over workers, by {', '.join(labels)}.",
    )


def ratio_rule(
    labels: Sequence[str],
    name: str,
    numerator: str,
    denominator: str,
    meaning: str,
    *,
    matching: str = "",
) -> RecordingRule:
    """Return the rule ``numerator / (denominator > 0)`` named ``...:name:ratio``.

    A zero denominator gives no sample rather than an infinity. ``matching``
    is the vector matching of the division (``on (...) group_left``).
    """
    divide = f"/ {matching}" if matching else "/"
    return RecordingRule(
        record=record_name(labels, PREFIX + name, "ratio"),
        expr=f"{numerator}\n{divide}\n({denominator} > 0)",
        meaning=meaning,
    )
