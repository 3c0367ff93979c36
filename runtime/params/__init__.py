"""Job parameters: a task's signature, and command-line strings turned into typed values.

AWS Batch `Ref::` substitution only produces strings, so every value arrives as text (or as
JSON from `--params` and manifests) and is converted by the task function's annotations. All
problems are collected and reported in one `UsageError`: a job definition with three typos
should cost one failed container start, not three.

The jobs are split: `signature` reads the task function, `argv` tokenizes the command line,
`manifest` reads parameter documents, `convert` converts values, `placeholders` holds the one
rule for Batch's `Ref::` placeholders. Documents are read through `runtime.documents`, which
bounds their size and decodes them with a clear error.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from runtime.errors import UsageError
from runtime.params import manifest
from runtime.params.argv import tokenize
from runtime.params.convert import preview
from runtime.params.signature import (
    MASK,
    MISSING,
    RESERVED_FLAGS,
    Param,
    Secret,
    context_param,
    masked,
    params_of,
)

__all__ = [
    "MASK",
    "MISSING",
    "RESERVED_FLAGS",
    "Param",
    "Secret",
    "context_param",
    "masked",
    "params_of",
    "parse",
]

Reader = Callable[[str, str], str]


def parse(
    params: Sequence[Param],
    argv: Sequence[str],
    *,
    array_index: int | None = None,
    read_text: Reader | None = None,
) -> dict[str, Any]:
    """Turn `--name value` tokens, `--params` and `--manifest` into the task's keyword arguments.

    Precedence, lowest first: `--params`, explicit flags, then the manifest item of this array
    child (SPEC: the item is merged over the other parameters). `read_text(uri, what)` reads a
    document; it defaults to the bounded reader, and `submit` passes one that reuses the text
    it already read.
    """
    by_name = {p.name: p for p in params}
    tokens = tokenize(by_name, argv)
    problems = tokens.problems
    load = read_text or _read_document
    values: dict[str, Any] = {}
    if "params" in tokens.specials:
        text = tokens.specials["params"]
        if text.lstrip()[:1] not in ("{", "["):
            try:
                text = load(text.removeprefix("@"), "--params")
            except UsageError as exc:
                raise UsageError(f"{exc} (--params also takes the JSON object itself)") from None
        values.update(manifest.params_object(text, "--params", problems))
    for key, given in tokens.flags.items():
        param = by_name.get(key)
        values[key] = given if param is None else _from_flags(param, given, problems)
    if "manifest" in tokens.specials:
        try:
            found = manifest.items(load(tokens.specials["manifest"], "--manifest"))
        except ValueError as exc:
            problems.append(str(exc))
        else:
            values.update(manifest.item(found, array_index, problems))

    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        param = by_name.get(key)
        if param is None:
            close = difflib.get_close_matches(key, by_name, n=1)
            hint = f"; did you mean --{close[0].replace('_', '-')}?" if close else ""
            problems.append(f"unknown parameter {_flag(key)}{hint}")
            continue
        try:
            kwargs[key] = param.convert(value)
        except (ValueError, TypeError) as exc:
            shown = MASK if param.secret else preview(value)
            problems.append(f"{param.flag}: {exc}, got {shown}")
    for param in params:
        if param.name not in values and param.required:
            problems.append(f"{param.flag} is required ({param.type_name})")
    if problems:
        raise UsageError("invalid parameters:\n  - " + "\n  - ".join(problems))
    return kwargs


def _from_flags(param: Param, given: list[str], problems: list[str]) -> Any:
    if param.is_list:
        if len(given) == 1 and (given[0] == "" or given[0].lstrip().startswith("[")):
            return given[0]
        return given
    if len(given) > 1:
        problems.append(f"{param.flag} was given {len(given)} times but takes one value")
    return given[-1]


def _flag(key: str) -> str:
    flag = "--" + key.replace("_", "-")
    return flag if len(flag) <= 60 else preview(flag)


def _read_document(uri: str, what: str) -> str:
    from runtime import documents

    return documents.read_text(uri, what)
