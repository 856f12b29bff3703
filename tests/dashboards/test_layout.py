"""Every generated dashboard is laid out on Grafana's grid and fully described.

Grafana places panels on a grid of 24 columns and rows of 30 px with an 8 px
gap between rows. A collapsed row keeps its panels inside it; when it opens,
Grafana moves them as one block to just below the row, so they are checked
against each other and not against the panels around the row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from dashboards.wall import WALL_ROWS
from tests.dashboards.conftest import REPOSITORY

DASHBOARDS = sorted((REPOSITORY / "deploy/grafana/dashboards").glob("*.json"))
GRID_COLUMNS = 24
WALL_UID = "salespulse-wall"

ROW_HEIGHT_PX = 30
ROW_GAP_PX = 8
SCREEN_HEIGHT_PX = 1080
KIOSK_PADDING_PX = 2 * 16
"""Kiosk mode hides Grafana's menus and variable bar; the grid keeps 16 px of
padding above and below it. n rows take 30 n + 8 (n - 1) px, so at most
(1080 - 32 + 8) // 38 = 27 rows fit one 1080p screen."""


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(params=DASHBOARDS, ids=lambda path: path.name)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return _load(path)


def _is_row(panel: dict[str, Any]) -> bool:
    return bool(panel.get("type") == "row")


def _content_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every panel that is not a row, those inside collapsed rows too."""
    for panel in dashboard.get("panels", []):
        if _is_row(panel):
            yield from panel.get("panels", [])
        else:
            yield panel


def _grid_problems(panels: list[dict[str, Any]], where: str) -> list[str]:
    """Return what is wrong with the places of ``panels``, laid out together."""
    problems = [
        f"{where}{panel.get('title')!r} has no gridPos"
        for panel in panels
        if not isinstance(panel.get("gridPos"), dict)
    ]
    placed = [panel for panel in panels if isinstance(panel.get("gridPos"), dict)]
    for panel in placed:
        grid = panel["gridPos"]
        inside = grid["x"] >= 0 and grid["y"] >= 0 and grid["h"] >= 1
        if not inside or grid["w"] < 1 or grid["x"] + grid["w"] > GRID_COLUMNS:
            problems.append(f"{where}{panel.get('title')!r} is off the grid: {grid}")
    for first, second in combinations(placed, 2):
        if _overlap(first["gridPos"], second["gridPos"]):
            problems.append(
                f"{where}{first.get('title')!r} overlaps {second.get('title')!r}"
            )
    return problems


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    apart = (
        a["x"] + a["w"] <= b["x"]
        or b["x"] + b["w"] <= a["x"]
        or a["y"] + a["h"] <= b["y"]
        or b["y"] + b["h"] <= a["y"]
    )
    return not apart


def layout_problems(dashboard: dict[str, Any]) -> list[str]:
    """Return every misplaced panel of ``dashboard``, collapsed rows included."""
    top = dashboard.get("panels", [])
    problems = _grid_problems(top, "")
    for row in filter(_is_row, top):
        if row.get("collapsed"):
            problems += _grid_problems(row.get("panels", []), f"row {row['title']!r}: ")
        elif row.get("panels"):
            problems.append(f"open row {row['title']!r} holds panels of its own")
    return problems


def wall_problems(dashboard: dict[str, Any], rows: int) -> list[str]:
    """Return what would make the wall scroll past ``rows`` grid rows."""
    problems = []
    for panel in dashboard.get("panels", []):
        title = panel.get("title")
        if _is_row(panel):
            problems.append(f"{title!r} is a row, which can hide or add panels")
        if panel.get("repeat"):
            problems.append(f"{title!r} repeats by ${panel['repeat']}")
        grid = panel.get("gridPos", {})
        bottom = grid.get("y", 0) + grid.get("h", 0)
        if bottom > rows:
            problems.append(f"{title!r} ends at row {bottom}, below row {rows}")
    return problems


def description_problems(dashboard: dict[str, Any]) -> list[str]:
    """Return every panel that lacks a title or a description of its own."""
    problems = []
    for panel in _content_panels(dashboard):
        title = str(panel.get("title", "")).strip()
        description = str(panel.get("description", "")).strip()
        if not title:
            problems.append(f"panel {panel.get('id')} has no title")
        if not description or description == title:
            problems.append(f"{title!r} has no description")
    return problems


def job_problems(dashboard: dict[str, Any]) -> list[str]:
    """Return every query with a selector that ignores the ``job`` variable."""
    problems = []
    for panel in _content_panels(dashboard):
        for target in panel.get("targets", []):
            expr = str(target.get("expr", ""))
            selectors = re.findall(r"\{([^}]*)\}", expr.replace("{{", ""))
            if not selectors or not all('job=~"$job"' in s for s in selectors):
                problems.append(f"{panel.get('title')!r}: {expr!r}")
    return problems


def test_the_folder_holds_dashboards() -> None:
    assert DASHBOARDS, "no dashboard in deploy/grafana/dashboards"


def test_panels_sit_on_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    assert layout_problems(dashboard) == []


def test_panels_have_a_title_and_a_description(dashboard: dict[str, Any]) -> None:
    assert list(_content_panels(dashboard)), "a dashboard without panels"
    assert description_problems(dashboard) == []


def test_every_query_selects_the_job_variable(dashboard: dict[str, Any]) -> None:
    assert job_problems(dashboard) == []


def test_wall_fits_one_kiosk_screen(dashboard: dict[str, Any]) -> None:
    if dashboard["uid"] != WALL_UID:
        return
    assert wall_problems(dashboard, WALL_ROWS) == []


def test_wall_rows_fit_1080_pixels() -> None:
    height_px = WALL_ROWS * ROW_HEIGHT_PX + (WALL_ROWS - 1) * ROW_GAP_PX

    assert height_px <= SCREEN_HEIGHT_PX - KIOSK_PADDING_PX
    assert WALL_ROWS >= 20


def _panel(title: str, x: int, y: int, w: int, h: int) -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "description": f"What {title} shows.",
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [{"expr": f'sum(up{{job=~"$job", panel="{title}"}})'}],
    }


def _row(title: str, y: int, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "row",
        "title": title,
        "collapsed": bool(panels),
        "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": 1},
        "panels": panels,
    }


def test_layout_check_finds_overlaps_and_overflow() -> None:
    board = {
        "panels": [
            _panel("a", 0, 0, 12, 8),
            _panel("b", 11, 4, 6, 8),
            _panel("c", 16, 4, 9, 4),
            _panel("d", 0, 8, 0, 4),
            {"type": "stat", "title": "e"},
        ]
    }

    assert layout_problems(board) == [
        "'e' has no gridPos",
        "'c' is off the grid: {'x': 16, 'y': 4, 'w': 9, 'h': 4}",
        "'d' is off the grid: {'x': 0, 'y': 8, 'w': 0, 'h': 4}",
        "'a' overlaps 'b'",
        "'b' overlaps 'c'",
    ]


def test_collapsed_row_is_laid_out_apart_from_the_panels_around_it() -> None:
    inside = [_panel("x", 0, 0, 12, 8), _panel("y", 12, 0, 12, 8)]
    board = {"panels": [_panel("a", 0, 0, 24, 8), _row("details", 8, inside)]}

    assert layout_problems(board) == []


def test_layout_check_finds_overlaps_inside_a_collapsed_row() -> None:
    inside = [_panel("x", 0, 9, 12, 8), _panel("y", 6, 9, 12, 8)]
    board = {"panels": [_panel("a", 0, 0, 24, 8), _row("details", 8, inside)]}

    assert layout_problems(board) == ["row 'details': 'x' overlaps 'y'"]


def test_wall_check_finds_scrolling() -> None:
    repeated = _panel("per job", 0, 0, 12, 8) | {"repeat": "job"}
    board = {"panels": [repeated, _row("more", 8, []), _panel("tall", 0, 9, 24, 20)]}

    assert wall_problems(board, 26) == [
        "'per job' repeats by $job",
        "'more' is a row, which can hide or add panels",
        "'tall' ends at row 29, below row 26",
    ]


def test_content_checks_look_inside_collapsed_rows() -> None:
    hidden = _panel("hidden", 0, 9, 24, 8)
    hidden["description"] = " "
    hidden["targets"] = [{"expr": 'sum(up{job="salespulse"})'}]
    board = {"panels": [_panel("a", 0, 0, 24, 8), _row("more", 8, [hidden])]}

    assert description_problems(board) == ["'hidden' has no description"]
    assert job_problems(board) == ["'hidden': 'sum(up{job=\"salespulse\"})'"]
