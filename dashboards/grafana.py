"""Render a :class:`~dashboards.registry.Board` as Grafana dashboard JSON.

The dashboards are built with Grafana's own SDK (grafana-foundation-sdk) and
written with its JSON encoder, in the classic dashboard schema that Grafana 12
provisions from files. The SDK marks that schema as superseded by its v2
builders, which Grafana 12 only reads behind feature flags; its deprecation
warnings are silenced where the SDK is imported, and only there.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

from dashboards.model import Board, Display, Entry

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import (
        bargauge,
        gauge,
        prometheus,
        stat,
        timeseries,
    )
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as dashboard_builders
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common, dashboard

DATASOURCE_UID = "salespulse-prometheus"
"""The uid of the provisioned Prometheus datasource, the variable's default."""

DATASOURCE_NAME = "Prometheus"
GRID_COLUMNS = 24

_DATASOURCE = common.DataSourceRef(type_val="prometheus", uid="${datasource}")


def dashboard_json(board: Board) -> str:
    """Return the dashboard of ``board`` as indented, key-sorted JSON."""
    built = _dashboard(board).build()
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def _dashboard(board: Board) -> Any:
    builder = (
        dashboard_builders.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(list(board.tags))
        .time(board.time_from, "now")
        .refresh(board.refresh)
        .timezone(common.TimeZoneBrowser)
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(_datasource_variable())
        .with_variable(_job_variable())
    )
    for panel_id, (entry, position) in enumerate(
        zip(board.entries, _layout(board.entries), strict=True), start=1
    ):
        builder = builder.with_panel(_panel(entry, panel_id, position))
    return builder


def _datasource_variable() -> Any:
    return (
        dashboard_builders.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(
            dashboard.VariableOption(
                selected=True, text=DATASOURCE_NAME, value=DATASOURCE_UID
            )
        )
    )


def _job_variable() -> Any:
    query = "label_values(salespulse_worker_info, job)"
    return (
        dashboard_builders.QueryVariable("job")
        .label("Job")
        .description("Prometheus jobs that scrape SalesPulse workers.")
        .datasource(_DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(dashboard.VariableOption(selected=True, text="All", value="$__all"))
    )


def _layout(entries: tuple[Entry, ...]) -> Iterator[dashboard.GridPos]:
    """Place entries left to right, starting a new row when one is full."""
    x = y = row_height = 0
    for entry in entries:
        if x + entry.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        yield dashboard.GridPos(x=x, y=y, w=entry.width, h=entry.height)
        x += entry.width
        row_height = max(row_height, entry.height)


def _panel(entry: Entry, panel_id: int, position: dashboard.GridPos) -> Any:
    panel = _PANELS[entry.display]()
    panel = (
        panel.id(panel_id)
        .title(entry.title)
        .description(entry.description)
        .datasource(_DATASOURCE)
        .grid_pos(position)
        .unit(entry.unit)
    )
    if entry.minimum is not None:
        panel = panel.min(entry.minimum)
    if entry.maximum is not None:
        panel = panel.max(entry.maximum)
    if entry.thresholds:
        panel = panel.thresholds(_thresholds(entry))
    for ref_id, query in zip("ABCDEFGHIJ", entry.queries, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery()
            .ref_id(ref_id)
            .datasource(_DATASOURCE)
            .expr(query.expr)
            .legend_format(query.legend)
            .range()
        )
    return panel


def _timeseries() -> Any:
    legend = (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.RIGHT)
        .calcs(["mean", "lastNotNull"])
    )
    tooltip = (
        common_builders.VizTooltipOptions()
        .mode(common.TooltipDisplayMode.MULTI)
        .sort(common.SortOrder.DESCENDING)
    )
    return (
        timeseries.Panel()
        .legend(legend)
        .tooltip(tooltip)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
    )


def _stat() -> Any:
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    return (
        stat.Panel()
        .reduce_options(reduce)
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.AREA)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .justify_mode(common.BigValueJustifyMode.AUTO)
    )


def _thresholds(entry: Entry) -> Any:
    steps = [
        dashboard.Threshold(value=t.value, color=t.color) for t in entry.thresholds
    ]
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps(steps)
    )


def _gauge() -> Any:
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    return (
        gauge.Panel()
        .reduce_options(reduce)
        .show_threshold_markers(True)
        .show_threshold_labels(False)
    )


def _bar_gauge() -> Any:
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    return (
        bargauge.Panel()
        .reduce_options(reduce)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .value_mode(common.BarGaugeValueMode.COLOR)
        .name_placement(common.BarGaugeNamePlacement.LEFT)
        .show_unfilled(True)
    )


_PANELS = {
    Display.TIMESERIES: _timeseries,
    Display.STAT: _stat,
    Display.GAUGE: _gauge,
    Display.BAR_GAUGE: _bar_gauge,
}
