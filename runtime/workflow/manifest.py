"""Manifests: the items a `foreach` node fans out over, read as the runtime reads them."""

from __future__ import annotations

import json
from typing import Any

from runtime import documents
from runtime.errors import TaskError

MAX_ARRAY_SIZE = 10_000


def items(value: Any, where: str, problems: list[str]) -> list[dict[str, Any]]:
    if isinstance(value, list):
        found = value
    elif isinstance(value, str) and value:
        try:
            found = read_manifest(documents.read_text(value, "foreach manifest"))
        except (TaskError, ValueError) as exc:
            problems.append(f"{where}: manifest {value!r} can't be read: {exc}")
            return []
    else:
        problems.append(f"{where}: foreach must be a manifest URI, got {value!r}")
        return []
    if not 1 <= len(found) <= MAX_ARRAY_SIZE:
        problems.append(
            f"{where}: foreach has {len(found)} items; it needs 1 to {MAX_ARRAY_SIZE:,} "
            "(AWS Batch's array limit)"
        )
        return []
    bad = [i for i, item in enumerate(found) if not isinstance(item, dict)]
    if bad:
        problems.append(f"{where}: manifest items must be JSON objects; items {bad[:5]} are not")
        return []
    return found


def read_manifest(text: str) -> list[Any]:
    """A JSON array, or JSON Lines: the two manifest forms the runtime reads."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        items = json.loads(stripped)
        if not isinstance(items, list):
            raise ValueError("not a JSON array")
        return items
    return [json.loads(line) for line in text.splitlines() if line.strip()]
