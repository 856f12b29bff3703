"""The replay subcommand end to end, on a log written by the simulator's CLI."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from streams.replay import register
from streams.simulator.company import default_company
from streams.simulator.reference import EXCHANGE_RATES, reference_document

START = "2026-03-01T00:00:00Z"
AS_OF = "2026-03-12T00:00:00+00:00"
PROMTOOL = "/usr/bin/promtool"


def salespulse_replay(argv: Sequence[str]) -> int:
    """Run ``salespulse replay`` with the subcommand as the CLI registers it."""
    parser = argparse.ArgumentParser(prog="salespulse")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["replay", *argv])
    return int(args.handler(args))


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "log.jsonl"
    subprocess.run(
        [
            sys.executable, "-m", "streams.cli", "simulate", "--start", START,
            "--rate", "0", "--events", "6000", "--duplicates", "0.03",
            "--malformed", "0.02", "--file", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "reference.json"
    path.write_text(json.dumps(reference_document(default_company())))
    return path


def _exposition(
    log: Path, reference_file: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    code = salespulse_replay(
        [str(log), "--as-of", AS_OF, "--reference", str(reference_file),
         "--format", "prometheus"]
    )  # fmt: skip
    assert code == 0
    return capsys.readouterr().out


def _plain_events(log: Path) -> dict[str, dict[str, object]]:
    """Return the log's well-formed events by id (repeats collapse)."""
    events = {}
    for line in log.read_bytes().splitlines():
        if line.startswith(b'{"topic":'):
            continue
        document = json.loads(line)
        events[document["id"]] = document
    return events


def _sum(text: str, name: str, window: str) -> Decimal:
    total = Decimal(0)
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and f'window="{window}"' in line:
            total += Decimal(line.rsplit(" ", 1)[1])
    return total


def test_the_exposition_passes_promtool(
    log: Path, reference_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _exposition(log, reference_file, capsys)
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'salespulse_rep_info{rep="rep-01",name="Ava Brooks"' in text


def test_revenue_and_leads_match_the_log(
    log: Path, reference_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    as_of = datetime.fromisoformat(AS_OF)
    revenue = Decimal(0)
    leads = 0
    for event in _plain_events(log).values():
        time = datetime.fromisoformat(str(event["time"]))
        if not (datetime.fromisoformat(START) <= time <= as_of):
            continue
        data = event["data"]
        assert isinstance(data, dict)
        if event["type"] == "deal.won":
            rate = EXCHANGE_RATES.get(data["currency"], Decimal(1))
            amount = Decimal(str(data["amount"])) * rate
            revenue += amount.quantize(Decimal("0.01"))
        elif event["type"] == "lead.created":
            leads += 1
    assert revenue > 0
    assert leads > 0

    text = _exposition(log, reference_file, capsys)
    assert _sum(text, "salespulse_won_revenue", "month_to_date") == revenue
    assert _sum(text, "salespulse_leads_created", "month_to_date") == leads


def test_the_table_counts_rejects_and_events_after_as_of(
    log: Path, reference_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrapped = sum(
        1 for line in log.read_bytes().splitlines() if line.startswith(b'{"topic":')
    )
    code = salespulse_replay(
        [str(log), "--as-of", AS_OF, "--reference", str(reference_file)]
    )
    out = capsys.readouterr().out
    assert code == 0
    summary = out.splitlines()[0]
    assert f"{wrapped} rejected" in summary
    assert " 0 after as-of" not in summary
    assert "quote-to-close" in out
    assert "customer lifetime value" in out or "lifetime value" in out


def test_a_bad_reference_file_exits_2(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gross_margin": "1.5"}))
    assert salespulse_replay([str(log), "--reference", str(bad)]) == 2
    assert "gross_margin" in capsys.readouterr().err
