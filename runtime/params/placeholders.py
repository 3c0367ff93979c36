"""AWS Batch's `Ref::name` placeholders: the one rule for what they mean, on both sides.

Batch substitutes a command argument that is exactly `Ref::name` with the job's parameter
`name` (or the definition's default). With neither, it passes `Ref::name` through literally.
So, everywhere in batch-task:

- a placeholder is a whole argument, `Ref::` followed by a name without whitespace; text around
  it (`x=Ref::codec`) is left alone, as Batch leaves it;
- in the container, an argument that is still a placeholder means "not given" (an array
  child's manifest item may supply it, or the task's default applies);
- on the operator's side (`local`, `submit`), a placeholder without a value is an error unless
  something else will supply it (a manifest), in which case it is passed through as Batch would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

PREFIX = "Ref::"
_PLACEHOLDER = re.compile(r"Ref::(\S+)")


def name_of(argument: str) -> str | None:
    """The parameter an argument refers to, or None when it is not a placeholder."""
    match = _PLACEHOLDER.fullmatch(argument)
    return match.group(1) if match else None


def is_unresolved(argument: str) -> bool:
    """True for an argument Batch left as a placeholder: the flag before it was not given."""
    return name_of(argument) is not None


def placeholder(name: str) -> str:
    """The argument Batch would substitute with parameter `name`: `Ref::name`."""
    return PREFIX + name


def names(command: Sequence[str]) -> list[str]:
    """The parameter names a command refers to, in order of first use."""
    found = (name_of(argument) for argument in command)
    return list(dict.fromkeys(name for name in found if name is not None))


def substitute(command: Sequence[str], values: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The command with every placeholder that has a value replaced, as Batch does; and the
    names that had none (their placeholders are left in place, as Batch leaves them)."""
    result: list[str] = []
    missing: list[str] = []
    for argument in command:
        name = name_of(argument)
        if name is None:
            result.append(argument)
        elif name in values:
            result.append(values[name])
        else:
            result.append(argument)
            missing.append(name)
    return result, list(dict.fromkeys(missing))
