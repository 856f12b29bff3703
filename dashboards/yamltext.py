"""Write YAML that reads well in a diff: key order kept, long queries as blocks."""

from __future__ import annotations

from typing import Any

import yaml


class _BlockDumper(yaml.SafeDumper):
    """A safe dumper that writes multi-line strings as literal blocks."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _represent_text)


def dump(document: Any, header: str = "") -> str:
    """Return ``document`` as YAML, after ``header`` written as comments."""
    comments = "".join(
        f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()
    )
    body = yaml.dump(
        document,
        Dumper=_BlockDumper,
        sort_keys=False,
        allow_unicode=True,
        width=120,
        default_flow_style=False,
    )
    return comments + body
