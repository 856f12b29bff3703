"""Argument types shared by the subcommands of the command line."""

from __future__ import annotations

import argparse
from datetime import datetime


def aware_time(text: str) -> datetime:
    """Parse an RFC 3339 time with its offset, for ``type=`` of an argument."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time") from error
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset (add Z or +HH:MM)")
    return value
