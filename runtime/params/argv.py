"""The argv tokenizer: `--name value` and `--name=value` tokens into raw values per flag.

Nothing is converted here; the tokens only say which flag got which text, so that conversion
can report every problem at once. A value Batch left as an unresolved `Ref::name` placeholder
counts as not given (runtime.params.placeholders).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runtime.params import placeholders
from runtime.params.convert import FALSE, TRUE, preview
from runtime.params.signature import RESERVED_FLAGS, Param


@dataclass
class Tokens:
    """Raw values by parameter name (`-` spelled `_`), the runtime's own flags, and problems."""

    flags: dict[str, list[str]] = field(default_factory=dict)
    specials: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def tokenize(by_name: Mapping[str, Param], argv: Sequence[str]) -> Tokens:
    """Split argv into flags; a bare boolean flag (`--overwrite`) means true."""
    tokens = Tokens()
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("--") or token == "--":
            tokens.problems.append(
                f"unexpected argument {preview(token)}: give parameters as --name value"
            )
            continue
        name, has_value, value = token[2:].partition("=")
        key = name.replace("-", "_")
        if not key:
            tokens.problems.append(f"{preview(token)} names no parameter: use --name value")
            continue
        if not has_value:
            param = by_name.get(key)
            nxt = argv[i] if i < len(argv) else None
            if (
                param is not None
                and param.is_bool
                and (nxt is None or nxt.lower() not in TRUE | FALSE | {""})
            ):
                value = "true"
            elif nxt is None:
                tokens.problems.append(f"--{name} needs a value")
                continue
            else:
                value, i = nxt, i + 1
        if placeholders.is_unresolved(value):
            continue
        if value == "" and key in by_name and by_name[key].is_bool:
            # `-p overwrite=` in a job definition: empty means not given, the default applies.
            continue
        if key in RESERVED_FLAGS:
            if key in tokens.specials:
                tokens.problems.append(f"--{key} was given twice but takes one value")
            tokens.specials[key] = value
        else:
            tokens.flags.setdefault(key, []).append(value)
    return tokens
