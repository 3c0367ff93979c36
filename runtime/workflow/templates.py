"""Templates in workflow strings: `{inputs.NAME}`, `{item.KEY}`, `{run_id}`,
`{nodes.NODE.params.NAME}`; `{{` and `}}` are literal braces.

A string that is exactly one template takes the value's type, so a list of every child's
destination reaches a fan-in node as a list; inside longer text a value is written as text
(JSON for lists and objects, which the runtime's parser reads back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_EXPR = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_ONE = re.compile(r"^\{([^{}]+)\}$")


class Unresolved(Exception):
    """A template names nothing; the message says which and why."""


Lookup = Callable[[str], Any]


def expressions(value: Any) -> list[str]:
    """Every template expression in a value (strings inside lists and mappings too)."""
    found: list[str] = []
    if isinstance(value, str):
        found.extend(m.group(1).strip() for m in _EXPR.finditer(value) if m.group(1) is not None)
    elif isinstance(value, list):
        for item in value:
            found.extend(expressions(item))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(expressions(item))
    return found


def render(value: Any, lookup: Lookup, problems: list[str], where: str) -> Any:
    """Resolve the templates in `value`; each failed one adds a problem naming `where`."""
    if isinstance(value, list):
        return [render(v, lookup, problems, where) for v in value]
    if isinstance(value, dict):
        return {k: render(v, lookup, problems, where) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    whole = _ONE.match(value)
    if whole:
        return _resolve(whole.group(1).strip(), lookup, problems, where)

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return as_text(_resolve(match.group(1).strip(), lookup, problems, where))

    return _EXPR.sub(replace, value)


def as_text(value: Any) -> str:
    """A value as Batch carries it: text as is, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _resolve(expr: str, lookup: Lookup, problems: list[str], where: str) -> Any:
    try:
        return lookup(expr)
    except Unresolved as exc:
        if exc.args:  # without a message: a problem reported elsewhere (a missing input)
            problems.append(f"{where}: template {{{expr}}} {exc}")
        return ""
