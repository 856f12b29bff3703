"""The subcommands that show and set the reference data in Redis.

``reps``, ``targets``, ``stages``, ``rates``, ``calendar`` and ``reference``
(export and import of a whole JSON document). Each reads the Redis URL from
the settings (``SALESPULSE_REDIS_URL``). A value that cannot be accepted exits
with 2 and a message naming the argument or field and what it accepts, before
anything is written; a Redis that does not answer exits with 1, naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeAlias

from kpis.reference import SCOPES, ReferenceData, ReferenceError
from streams.config import load_settings
from streams.reference_store import (
    DEFAULT_PREFIX,
    ReferenceStore,
    ReferenceStoreError,
    connect,
    settings_edit,
)
from streams.report_table import table

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Action = Callable[[ReferenceStore, argparse.Namespace], Awaitable[str]]

_CONNECT_RETRIES = 2


def register(subcommands: Subcommands) -> None:
    """Add ``reps``, ``targets``, ``stages``, ``rates``, ``calendar``, ``reference``."""
    _register_reps(subcommands)
    _register_targets(subcommands)
    _register_stages(subcommands)
    _register_rates(subcommands)
    _register_calendar(subcommands)
    _register_reference(subcommands)


def _group(subcommands: Subcommands, name: str, help_text: str) -> Subcommands:
    """Add the subcommand ``name`` and return the parser of its actions."""
    parser = subcommands.add_parser(name, help=help_text, description=help_text)
    actions: Subcommands = parser.add_subparsers(dest="action", required=True)
    return actions


def _action(
    actions: Subcommands, name: str, help_text: str, run: Action
) -> argparse.ArgumentParser:
    """Add the action ``name`` that runs ``run`` against the store."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    parser.add_argument(
        "--prefix",
        default=None,
        help="key prefix of the reference data in Redis (SALESPULSE_REDIS_PREFIX, "
        f"else {DEFAULT_PREFIX})",
    )
    parser.set_defaults(handler=_handler(run))
    return parser


def _handler(run: Action) -> Callable[[argparse.Namespace], int]:
    """Return the handler that runs ``run`` and turns errors into exit codes."""

    def handle(args: argparse.Namespace) -> int:
        settings = load_settings()
        url = settings.redis_url
        if args.prefix is None:
            args.prefix = settings.redis_prefix
        where = f"salespulse {args.command} {args.action}"
        try:
            output = asyncio.run(
                _against_store(url, settings.redis_ssl_ca_certs, args, run)
            )
        except ReferenceError as error:
            print(f"{where}: {error}", file=sys.stderr)
            return 2
        except ReferenceStoreError as error:
            print(f"{where}: {error}", file=sys.stderr)
            return 1
        if output:
            print(output, end="" if output.endswith("\n") else "\n")
        return 0

    return handle


async def _against_store(
    url: str, ssl_ca_certs: str | None, args: argparse.Namespace, run: Action
) -> str:
    """Run ``run`` with a store of ``url``, closing the client afterwards."""
    client = connect(url, retries=_CONNECT_RETRIES, ssl_ca_certs=ssl_ca_certs)
    try:
        return await run(ReferenceStore(client, prefix=args.prefix), args)
    finally:
        await client.aclose()


async def _current(store: ReferenceStore) -> ReferenceData:
    """Return the stored reference data."""
    _, data = await store.load()
    return data


def _changed(version: int) -> str:
    """Return the confirmation of a change."""
    return f"reference data at version {version}"


# Argument types: each names what it accepts; argparse adds the argument.


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a decimal number (e.g. 0.5 or 120000)"
        ) from error
    if not number.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite decimal number")
    return number


def _aware_time(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)"
        ) from error
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset (add Z or +HH:MM)")
    return instant


def _month(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month number 1 to 12")
    return int(text)


# reps


def _register_reps(subcommands: Subcommands) -> None:
    actions = _group(subcommands, "reps", "show and change the rep directory")
    _action(actions, "list", "print the rep directory", _reps_list)
    setter = _action(actions, "set", "add a rep or change the details given", _reps_set)
    setter.add_argument("rep_id", metavar="REP_ID")
    setter.add_argument("--name", help="display name (the rep id for a new rep)")
    setter.add_argument("--team", help="team (unassigned for a new rep)")
    setter.add_argument("--region", help="region (unassigned for a new rep)")
    remover = _action(actions, "remove", "remove a rep", _reps_remove)
    remover.add_argument("rep_id", metavar="REP_ID")


async def _reps_list(store: ReferenceStore, args: argparse.Namespace) -> str:
    reps = sorted((await _current(store)).reps.values(), key=lambda r: r.rep_id)
    rows = [[r.rep_id, r.name, r.team, r.region] for r in reps]
    return table(f"Reps ({len(rows)})", ["rep", "name", "team", "region"], rows)


async def _reps_set(store: ReferenceStore, args: argparse.Namespace) -> str:
    version = await store.set_rep(
        args.rep_id, name=args.name, team=args.team, region=args.region
    )
    return _changed(version)


async def _reps_remove(store: ReferenceStore, args: argparse.Namespace) -> str:
    return _changed(await store.remove_rep(args.rep_id))


# targets


def _register_targets(subcommands: Subcommands) -> None:
    actions = _group(subcommands, "targets", "show and change targets (quotas)")
    _action(actions, "list", "print every target", _targets_list)
    setter = _action(actions, "set", "set a target", _targets_set)
    _target_arguments(setter)
    setter.add_argument(
        "amount", metavar="AMOUNT", type=_decimal, help="in the reporting currency"
    )
    remover = _action(actions, "remove", "remove a target", _targets_remove)
    _target_arguments(remover)


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scope", metavar="SCOPE", choices=SCOPES, help="/".join(SCOPES))
    parser.add_argument(
        "key", metavar="KEY", help="team or rep id; '-' or '' for the company"
    )
    parser.add_argument(
        "period", metavar="PERIOD", help="month, quarter or fiscal year label"
    )


def _target_key(args: argparse.Namespace) -> str:
    """Return the target key; '-' stands for the company's empty key."""
    if args.scope == "company" and args.key in ("-", ""):
        return ""
    return str(args.key)


async def _targets_list(store: ReferenceStore, args: argparse.Namespace) -> str:
    data = await _current(store)
    rows = [
        [scope, key or "-", label, f"{amount:,}"]
        for (scope, key, label), amount in sorted(data.targets.items())
    ]
    header = ["scope", "key", "period", f"amount ({data.rates.reporting_currency})"]
    return table(f"Targets ({len(rows)})", header, rows)


async def _targets_set(store: ReferenceStore, args: argparse.Namespace) -> str:
    version = await store.set_target(
        args.scope, _target_key(args), args.period, args.amount
    )
    return _changed(version)


async def _targets_remove(store: ReferenceStore, args: argparse.Namespace) -> str:
    version = await store.delete_target(args.scope, _target_key(args), args.period)
    return _changed(version)


# stages


def _register_stages(subcommands: Subcommands) -> None:
    actions = _group(subcommands, "stages", "show and change the stage weights")
    _action(actions, "list", "print the stage weights", _stages_list)
    setter = _action(actions, "set", "set the weight of a stage", _stages_set)
    setter.add_argument("stage", metavar="STAGE")
    setter.add_argument(
        "weight", metavar="WEIGHT", type=_decimal, help="probability, 0 to 1"
    )
    _action(actions, "reset", "go back to the default weights", _stages_reset)


async def _stages_list(store: ReferenceStore, args: argparse.Namespace) -> str:
    weights = (await _current(store)).stage_weights
    rows = [[stage, str(weight)] for stage, weight in weights.items()]
    return table("Stage weights", ["stage", "weight"], rows)


async def _stages_set(store: ReferenceStore, args: argparse.Namespace) -> str:
    return _changed(await store.set_stage_weight(args.stage, args.weight))


async def _stages_reset(store: ReferenceStore, args: argparse.Namespace) -> str:
    return _changed(await store.reset_stage_weights())


# rates


def _register_rates(subcommands: Subcommands) -> None:
    actions = _group(subcommands, "rates", "show and change exchange rates")
    _action(actions, "list", "print every rate", _rates_list)
    setter = _action(
        actions, "set", "set a currency's rate to the reporting currency", _rates_set
    )
    setter.add_argument("currency", metavar="CURRENCY", help="ISO 4217 code")
    setter.add_argument(
        "rate",
        metavar="RATE",
        type=_decimal,
        help="units of the reporting currency per unit of CURRENCY",
    )
    setter.add_argument(
        "--from",
        dest="effective_from",
        type=_aware_time,
        default=None,
        help="RFC 3339 instant the rate applies from (now)",
    )


async def _rates_list(store: ReferenceStore, args: argparse.Namespace) -> str:
    rates = (await _current(store)).rates
    rows = [
        [currency, instant.astimezone(UTC).isoformat(), str(rate)]
        for currency, history in sorted(rates.rates.items())
        for instant, rate in history
    ]
    header = ["currency", "from (UTC)", f"rate to {rates.reporting_currency}"]
    return table("Exchange rates", header, rows)


async def _rates_set(store: ReferenceStore, args: argparse.Namespace) -> str:
    effective_from = args.effective_from or datetime.now(UTC).replace(microsecond=0)
    version = await store.set_rate(args.currency, effective_from, args.rate)
    return _changed(version)


# calendar


def _register_calendar(subcommands: Subcommands) -> None:
    actions = _group(
        subcommands, "calendar", "show and change the calendar and the currency"
    )
    _action(actions, "show", "print the calendar settings", _calendar_show)
    setter = _action(actions, "set", "change the settings given", _calendar_set)
    setter.add_argument("--timezone", help="IANA time zone, e.g. Europe/Berlin")
    setter.add_argument(
        "--fiscal-year-start-month", type=_month, help="first month, 1 to 12"
    )
    setter.add_argument("--reporting-currency", help="ISO 4217 code, e.g. EUR")


async def _calendar_show(store: ReferenceStore, args: argparse.Namespace) -> str:
    data = await _current(store)
    rows = [
        ["timezone", data.calendar.timezone],
        ["fiscal_year_start_month", str(data.calendar.fiscal_year_start_month)],
        ["reporting_currency", data.rates.reporting_currency],
    ]
    return table("Calendar", ["setting", "value"], rows)


async def _calendar_set(store: ReferenceStore, args: argparse.Namespace) -> str:
    values = (args.timezone, args.fiscal_year_start_month, args.reporting_currency)
    if all(value is None for value in values):
        raise ReferenceError(
            "calendar set: give --timezone, --fiscal-year-start-month and/or "
            "--reporting-currency"
        )

    edit = settings_edit(
        {
            "timezone": args.timezone,
            "fiscal_year_start_month": args.fiscal_year_start_month,
            "reporting_currency": args.reporting_currency,
        }
    )
    # One edit, so that the settings given change together, in one version.
    return _changed(await store.update(edit))


# reference


def _register_reference(subcommands: Subcommands) -> None:
    actions = _group(
        subcommands, "reference", "export or import the whole reference data"
    )
    exporter = _action(actions, "export", "write the reference data as JSON", _export)
    exporter.add_argument(
        "file", metavar="FILE", type=Path, nargs="?", help="(standard output)"
    )
    importer = _action(
        actions, "import", "replace the reference data by a JSON file", _import
    )
    importer.add_argument("file", metavar="FILE", type=Path)


async def _export(store: ReferenceStore, args: argparse.Namespace) -> str:
    text = json.dumps(await store.export_document(), indent=2) + "\n"
    if args.file is None:
        return text
    try:
        args.file.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ReferenceError(f"FILE: cannot write {args.file} ({error})") from error
    return f"reference data written to {args.file}"


async def _import(store: ReferenceStore, args: argparse.Namespace) -> str:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReferenceError(f"FILE: cannot read {args.file} ({error})") from error
    except ValueError as error:
        raise ReferenceError(f"FILE: {args.file} is not JSON ({error})") from error
    if not isinstance(document, dict):
        raise ReferenceError(f"FILE: {args.file} does not hold a JSON object")
    return _changed(await store.import_document(document))
