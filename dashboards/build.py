"""Generate every dashboard, rule and provisioning file into a directory tree."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from dashboards.catalogue import catalogue
from dashboards.errors import DashboardsError
from dashboards.grafana import dashboard_json
from dashboards.provisioning import dashboard_provider_file, datasource_file
from dashboards.registry import RuleSettings, boards, rule_files
from dashboards.rules import rule_file

logger = logging.getLogger(__name__)

DASHBOARDS_DIR = PurePosixPath("deploy/grafana/dashboards")
RULES_DIR = PurePosixPath("deploy/prometheus/rules")
PROVISIONING_DIR = PurePosixPath("deploy/grafana/provisioning")
CATALOGUE = PurePosixPath("docs/metrics.md")

GENERATED_DIRS = (DASHBOARDS_DIR, RULES_DIR)
"""Directories that hold generated files only; a stray file there is stale."""


def generated_files(
    settings: RuleSettings | None = None,
) -> dict[PurePosixPath, str]:
    """Return each generated file's path, relative to the repository, and text."""
    settings = settings or RuleSettings()
    shipped = boards(settings)
    files: dict[PurePosixPath, str] = {}
    for board in shipped:
        files[DASHBOARDS_DIR / f"{board.uid}.json"] = dashboard_json(board)
    for stem, members in rule_files(settings).items():
        files[RULES_DIR / f"{stem}.yml"] = rule_file(stem, members, settings)
    files[PROVISIONING_DIR / "dashboards/salespulse.yml"] = dashboard_provider_file()
    files[PROVISIONING_DIR / "datasources/prometheus.yml"] = datasource_file()
    files[CATALOGUE] = catalogue(settings)
    return files


def build(out: Path, settings: RuleSettings | None = None) -> list[Path]:
    """Write every generated file under ``out`` and return the paths written.

    Args:
        out: the root of the tree, normally the repository's checkout.
        settings: the tunable parts of the rules; the defaults when left out.
    """
    written = []
    for relative, text in generated_files(settings).items():
        path = out.joinpath(relative)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise DashboardsError(f"cannot write {path}: {error}") from error
        written.append(path)
    logger.info("generated files=%d out=%s", len(written), out)
    return written


def repository_root() -> Path | None:
    """Return the checkout this package runs from, or None when installed."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None
