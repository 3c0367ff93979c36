"""Parameter documents: the `--params` JSON object and the items of an array job's manifest.

A manifest is a JSON array of parameter objects, or JSON Lines (one object a line); item `i`
is what array child `i` (AWS_BATCH_JOB_ARRAY_INDEX) runs with. `submit` reads the same
manifest through `items` to validate every child before anything is submitted.
"""

from __future__ import annotations

from typing import Any

from runtime.params.convert import loads


def params_object(text: str, source: str, problems: list[str]) -> dict[str, Any]:
    """A JSON object of parameters, keys spelled with `_`; problems are appended, not raised."""
    try:
        value = loads(text, "a JSON object")
    except ValueError as exc:
        problems.append(f"{source} is not valid JSON: {exc}")
        return {}
    return _object(value, source, problems)


def items(text: str, source: str = "--manifest") -> list[Any]:
    """The manifest's items, or ValueError saying why the text is neither form."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            found = loads(stripped, "a JSON array")
            if not isinstance(found, list):
                raise ValueError("expected a JSON array")
            return found
        return [loads(line, "one JSON object a line") for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise ValueError(f"{source} is neither a JSON array nor JSON Lines: {exc}") from None


def item(found: list[Any], index: int | None, problems: list[str]) -> dict[str, Any]:
    """The parameters of array child `index`; problems are appended, not raised."""
    if index is None:
        problems.append(
            "--manifest needs AWS_BATCH_JOB_ARRAY_INDEX, which AWS Batch sets for "
            "array jobs (set it yourself to run one item locally)"
        )
        return {}
    if not 0 <= index < len(found):
        problems.append(
            f"AWS_BATCH_JOB_ARRAY_INDEX={index} is outside the manifest's {len(found)} items"
        )
        return {}
    return _object(found[index], f"manifest item {index}", problems)


def _object(value: Any, source: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(f"{source} must be a JSON object of parameters")
        return {}
    return {str(k).replace("-", "_"): v for k, v in value.items()}
