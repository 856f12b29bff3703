"""Every generated dashboard validates against Grafana's own dashboard schema.

The schema is generated from the ``Dashboard`` type of ``@grafana/schema``
(Grafana's published TypeScript types) by deploy/grafana/schema/generate.sh and
committed, so these tests need no npm.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# jsonschema ships no type hints; types-jsonschema would replace this ignore.
from jsonschema import (  # type: ignore[import-untyped]
    Draft7Validator,
    ValidationError,
    validators,
)

from tests.dashboards.conftest import REPOSITORY

SCHEMA_DIR = REPOSITORY / "deploy/grafana/schema"
SCHEMA = SCHEMA_DIR / "dashboard.schema.json"
DASHBOARDS = sorted((REPOSITORY / "deploy/grafana/dashboards").glob("*.json"))

VARIABLE_KEYS_BEYOND_SCHEMA = frozenset(
    {"auto", "auto_count", "auto_min", "definition"}
)
"""Template-variable keys that Grafana reads but its published schema omits.

grafana-foundation-sdk writes ``auto``, ``auto_count`` and ``auto_min`` (the
settings of interval variables, which the SDK emits with their defaults on every
variable) and ``definition`` (the query text a query variable shows in the
editor). Grafana's frontend variable models read all four, but ``VariableModel``
in @grafana/schema 12.1.1 to 12.3 lists none of them, and the schema
forbids unknown keys. Only these keys, only on template variables, are let
through; ``test_the_schema_still_lacks_the_keys_let_through`` fails once a newer
schema lists them, so the exception goes when it is no longer needed.
"""


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return _load(SCHEMA)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def engine() -> dict[str, Any]:
    return _load(REPOSITORY / "deploy/grafana/dashboards/salespulse-engine.json")


def _is_a_key_let_through(error: ValidationError) -> bool:
    """Tell whether ``error`` only names variable keys Grafana reads."""
    path = list(error.absolute_path)
    if error.validator != "additionalProperties" or path[:2] != ["templating", "list"]:
        return False
    allowed = set(error.schema.get("properties", {}))
    return set(error.instance) - allowed <= VARIABLE_KEYS_BEYOND_SCHEMA


def _violations(validator: Draft7Validator, dashboard: dict[str, Any]) -> list[str]:
    """Return each violation as ``path: message`` of its innermost cause."""
    return [
        _describe(_innermost(error))
        for error in validator.iter_errors(dashboard)
        if not _is_a_key_let_through(error)
    ]


def _innermost(error: ValidationError) -> ValidationError:
    """Follow an ``anyOf`` failure into the branch that got deepest."""
    while error.context:
        error = max(error.context, key=lambda cause: len(cause.absolute_path))
    return error


def _describe(error: ValidationError) -> str:
    path = "/".join(map(str, error.absolute_path)) or "(top)"
    return f"{path}: {error.message}"


def test_the_folder_holds_dashboards() -> None:
    assert DASHBOARDS, "no dashboard in deploy/grafana/dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_validates_against_grafanas_schema(
    path: Path, validator: Draft7Validator
) -> None:
    assert _violations(validator, _load(path)) == []


def test_schema_is_a_valid_draft_7_schema(schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(schema)

    assert validators.validator_for(schema) is Draft7Validator
    assert schema["$ref"] == "#/definitions/Dashboard"


def _broken_grid_position(dashboard: dict[str, Any]) -> None:
    dashboard["panels"][0]["gridPos"] = "0,0,12,8"


def _unknown_top_level_key(dashboard: dict[str, Any]) -> None:
    dashboard["pannels"] = dashboard["panels"]


def _missing_schema_version(dashboard: dict[str, Any]) -> None:
    del dashboard["schemaVersion"]


def _panel_without_type(dashboard: dict[str, Any]) -> None:
    del dashboard["panels"][0]["type"]


def _width_as_text(dashboard: dict[str, Any]) -> None:
    dashboard["panels"][0]["gridPos"]["w"] = "12"


def _unknown_variable_key(dashboard: dict[str, Any]) -> None:
    dashboard["templating"]["list"][0]["autoo"] = True


def _refresh_out_of_range(dashboard: dict[str, Any]) -> None:
    dashboard["templating"]["list"][1]["refresh"] = 7


BREAKAGES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_broken_grid_position, "panels/0/gridPos: '0,0,12,8' is not of type"),
    (_unknown_top_level_key, "(top): Additional properties are not allowed"),
    (_missing_schema_version, "(top): 'schemaVersion' is a required property"),
    (_panel_without_type, "panels/0: 'type' is a required property"),
    (_width_as_text, "panels/0/gridPos/w: '12' is not of type 'number'"),
    (_unknown_variable_key, "templating/list/0: Additional properties"),
    (_refresh_out_of_range, "templating/list/1/refresh: 7 is not one of"),
]
"""Ways to break the engine dashboard, each with the violation it must raise."""


@pytest.mark.parametrize(
    ("breakage", "violation"),
    [pytest.param(*case, id=case[0].__name__.strip("_")) for case in BREAKAGES],
)
def test_schema_rejects_a_broken_dashboard(
    breakage: Callable[[dict[str, Any]], None],
    violation: str,
    validator: Draft7Validator,
    engine: dict[str, Any],
) -> None:
    broken = copy.deepcopy(engine)
    breakage(broken)

    (found,) = _violations(validator, broken)
    assert found.startswith(violation), found


def test_the_schema_still_lacks_the_keys_let_through(schema: dict[str, Any]) -> None:
    variable = schema["definitions"]["VariableModel"]

    assert variable["additionalProperties"] is False
    assert VARIABLE_KEYS_BEYOND_SCHEMA.isdisjoint(variable["properties"])


def _recorded_versions(schema: dict[str, Any]) -> dict[str, str]:
    """Return the ``name@version`` pairs the schema's ``$comment`` records."""
    pairs = re.findall(r"(@?[a-z][\w./-]*)@(\d[\w.-]*)", schema["$comment"])
    return {name: version.rstrip(".") for name, version in pairs}


def test_schema_records_the_pinned_package_versions(schema: dict[str, Any]) -> None:
    pinned = _load(SCHEMA_DIR / "package.json")["devDependencies"]
    locked = _load(SCHEMA_DIR / "package-lock.json")["packages"]

    assert _recorded_versions(schema) == pinned
    for name, version in pinned.items():
        assert locked[f"node_modules/{name}"]["version"] == version


def test_schema_is_of_the_grafana_that_compose_runs(schema: dict[str, Any]) -> None:
    compose = (REPOSITORY / "docker-compose.yml").read_text(encoding="utf-8")
    (tag,) = re.findall(r"image: grafana/grafana:(\S+)", compose)

    assert _recorded_versions(schema)["@grafana/schema"] == tag
