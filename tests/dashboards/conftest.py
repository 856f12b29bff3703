"""Paths and tools shared by the tests of the generated files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a command-line tool to completion and return what it printed."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def promtool() -> str:
    """Return the path of promtool, which deploy/install.sh installs."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run deploy/install.sh")
    return path


@pytest.fixture(scope="session")
def amtool() -> str:
    """Return the path of amtool, which deploy/install.sh installs."""
    path = shutil.which("amtool")
    if path is None:
        pytest.fail("amtool is missing: run deploy/install.sh")
    return path
