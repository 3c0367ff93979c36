"""A task's parameters as its function declares them: names, annotations, defaults, help.

The signature is the one declaration of a task's parameters; `describe`, the parser and the
log's masking all read it from here, so a parameter is never declared twice.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.context import TaskContext
from runtime.masking import MASK
from runtime.params.convert import choices, convert, type_name

MISSING: Any = inspect.Parameter.empty
# Flags the runtime itself reads; a task can't declare parameters with these names.
RESERVED_FLAGS = ("params", "manifest")


class Secret:
    """Marks a parameter secret: `Annotated[str, Secret]`. Never logged, never reported."""


@dataclass(frozen=True)
class Param:
    name: str
    type: Any
    default: Any = MISSING
    optional: bool = False
    secret: bool = False
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def type_name(self) -> str:
        name = type_name(self.type)
        return f"{name} | None" if self.optional else name

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.type) is list or self.type is list

    @property
    def choices(self) -> tuple[str, ...]:
        return choices(self.type)

    @property
    def is_bool(self) -> bool:
        return self.type is bool

    def describe(self) -> dict[str, Any]:
        default = None if self.required else self.default
        if isinstance(default, enum.Enum):
            default = default.value
        if self.secret and default is not None:
            default = MASK
        return {
            "name": self.name,
            "flag": self.flag,
            "type": self.type_name,
            "required": self.required,
            "default": default,
            "secret": self.secret,
            "help": self.help,
        }

    def convert(self, value: Any) -> Any:
        """Convert one raw value (text from the command line, or JSON) to the annotated type."""
        if self.optional and (value is None or value == ""):
            return None
        return convert(self.type, value)


def context_param(func: Callable[..., Any]) -> str | None:
    """The name of the parameter that receives the `TaskContext`, if the task takes one."""
    hints = typing.get_type_hints(func)
    return next((n for n, h in hints.items() if h is TaskContext), None)


def params_of(func: Callable[..., Any]) -> tuple[Param, ...]:
    """Read the job parameters from a task function; refuse what the command line can't carry."""
    hints = typing.get_type_hints(func, include_extras=True)
    helps = _arg_help(inspect.getdoc(func) or "")
    params = []
    for p in inspect.signature(func).parameters.values():
        hint = hints.get(p.name, str)
        if hint is TaskContext:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{func.__qualname__}: *{p.name} can't be a job parameter")
        if p.name in RESERVED_FLAGS:
            raise TypeError(f"{func.__qualname__}: --{p.name} is reserved by batch-task")
        hint, secret = _unwrap_secret(hint)
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            optional = len(args) < len(typing.get_args(hint))
            if len(args) != 1:
                raise TypeError(
                    f"{func.__qualname__}: {p.name}: unions other than X | None "
                    "can't be parsed from the command line"
                )
            # `Annotated[str, Secret] | None` puts the marker inside the union.
            hint, inner_secret = _unwrap_secret(args[0])
            secret = secret or inner_secret
        type_name(hint)
        params.append(Param(p.name, hint, p.default, optional, secret, helps.get(p.name, "")))
    return tuple(params)


def _unwrap_secret(hint: Any) -> tuple[Any, bool]:
    """The annotation without `Annotated[...]`, and whether its metadata marks it secret."""
    if typing.get_origin(hint) is typing.Annotated:
        inner, *meta = typing.get_args(hint)
        return inner, Secret in meta
    return hint, False


def masked(params: Sequence[Param], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as they may be printed: secrets as `***`, enums as their values."""
    secret = {p.name for p in params if p.secret}
    return {
        k: MASK if k in secret and v is not None else v.value if isinstance(v, enum.Enum) else v
        for k, v in kwargs.items()
    }


def _arg_help(doc: str) -> dict[str, str]:
    """Per-parameter help from a Google-style `Args:` section of the task's docstring."""
    helps: dict[str, str] = {}
    lines = doc.split("\nArgs:", 1)[1].splitlines() if "\nArgs:" in doc else []
    current = None
    for line in lines:
        if not line.strip():
            continue
        if not line.startswith(" "):
            break
        name, sep, text = line.strip().partition(":")
        if sep and name.isidentifier() and line.startswith("    ") and not line.startswith("     "):
            current = name
            helps[name] = text.strip()
        elif current:
            helps[current] = f"{helps[current]} {line.strip()}"
    return helps
