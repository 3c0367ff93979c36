"""Job parameters: read a task's signature, then turn command-line strings into typed values.

AWS Batch `Ref::` substitution only produces strings, so every value arrives as text (or as
JSON from `--params` and manifests) and is converted by the task function's annotations. All
problems are collected and reported in one `UsageError`: a job definition with three typos
should cost one failed container start, not three.
"""

from __future__ import annotations

import difflib
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.context import TaskContext
from runtime.errors import UsageError

MISSING: Any = inspect.Parameter.empty
MASK = "***"
RESERVED_FLAGS = ("params", "manifest")
# Batch leaves `Ref::name` as it is when a job gives no value and the definition no default:
# such a flag was not given (an array child's manifest item may still supply it).
_UNRESOLVED = re.compile(r"^Ref::[A-Za-z0-9_]+$")
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


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
        name = _type_name(self.type)
        return f"{name} | None" if self.optional else name

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.type) is list or self.type is list

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
        return _convert(self.type, value)


def context_param(func: Callable[..., Any]) -> str | None:
    """The name of the parameter that receives the `TaskContext`, if the task takes one."""
    hints = typing.get_type_hints(func)
    return next((n for n, h in hints.items() if h is TaskContext), None)


def params_of(func: Callable[..., Any]) -> tuple[Param, ...]:
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
        secret = False
        if typing.get_origin(hint) is typing.Annotated:
            hint, *meta = typing.get_args(hint)
            secret = Secret in meta
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            optional = len(args) < len(typing.get_args(hint))
            if len(args) != 1:
                raise TypeError(
                    f"{func.__qualname__}: {p.name}: unions other than X | None "
                    "can't be parsed from the command line"
                )
            hint = args[0]
        _type_name(hint)
        params.append(Param(p.name, hint, p.default, optional, secret, helps.get(p.name, "")))
    return tuple(params)


def parse(
    params: Sequence[Param],
    argv: Sequence[str],
    *,
    array_index: int | None = None,
    read_text: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Turn `--name value` tokens, `--params` and `--manifest` into the task's keyword arguments.

    Precedence, lowest first: `--params`, explicit flags, then the manifest item of this array
    child (SPEC: the item is merged over the other parameters).
    """
    by_name = {p.name: p for p in params}
    problems: list[str] = []
    flags: dict[str, list[str]] = {}
    specials: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("--") or token == "--":
            problems.append(f"unexpected argument {token!r}: give parameters as --name value")
            continue
        name, has_value, value = token[2:].partition("=")
        key = name.replace("-", "_")
        if not has_value:
            param = by_name.get(key)
            nxt = argv[i] if i < len(argv) else None
            if (
                param is not None
                and param.type is bool
                and (nxt is None or nxt.lower() not in _TRUE | _FALSE)
            ):
                value = "true"
            elif nxt is None:
                problems.append(f"--{name} needs a value")
                continue
            else:
                value, i = nxt, i + 1
        if key in RESERVED_FLAGS:
            specials[key] = value
        elif not _UNRESOLVED.match(value):
            flags.setdefault(key, []).append(value)

    load = read_text or _read_uri
    values: dict[str, Any] = {}
    if "params" in specials:
        text = specials["params"]
        if not text.lstrip().startswith("{"):
            text = load(text.removeprefix("@"))
        values.update(_json_object(text, "--params", problems))
    for key, given in flags.items():
        param = by_name.get(key)
        values[key] = given if param is None else _from_flags(param, given, problems)
    if "manifest" in specials:
        values.update(_manifest_item(load(specials["manifest"]), array_index, problems))

    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        param = by_name.get(key)
        if param is None:
            close = difflib.get_close_matches(key, by_name, n=1)
            hint = f"; did you mean --{close[0].replace('_', '-')}?" if close else ""
            problems.append(f"unknown parameter --{key.replace('_', '-')}{hint}")
            continue
        try:
            kwargs[key] = param.convert(value)
        except (ValueError, TypeError) as exc:
            shown = MASK if param.secret else _short(value)
            problems.append(f"{param.flag}: {exc}, got {shown}")
    for param in params:
        if param.name not in values and param.required:
            problems.append(f"{param.flag} is required ({param.type_name})")
    if problems:
        raise UsageError("invalid parameters:\n  - " + "\n  - ".join(problems))
    return kwargs


def masked(params: Sequence[Param], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as they may be printed: secrets as `***`, enums as their values."""
    secret = {p.name for p in params if p.secret}
    return {
        k: MASK if k in secret and v is not None else v.value if isinstance(v, enum.Enum) else v
        for k, v in kwargs.items()
    }


def _from_flags(param: Param, given: list[str], problems: list[str]) -> Any:
    if param.is_list:
        if len(given) == 1 and (given[0] == "" or given[0].lstrip().startswith("[")):
            return given[0]
        return given
    if len(given) > 1:
        problems.append(f"{param.flag} was given {len(given)} times but takes one value")
    return given[-1]


def _convert(tp: Any, value: Any) -> Any:
    if tp is Any:
        return value
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError("expected text")
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true or false")
    if tp is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected an integer")
        try:
            return int(value)
        except (ValueError, TypeError):
            raise ValueError("expected an integer") from None
    if tp is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            return float(value)
        except (ValueError, TypeError):
            raise ValueError("expected a number") from None
    origin = typing.get_origin(tp) or tp
    if origin is list:
        if isinstance(value, str):
            value = _json(value, list) if value.lstrip().startswith("[") else [value]
        if not isinstance(value, list):
            raise ValueError("expected a list")
        (item_type,) = typing.get_args(tp) or (Any,)
        return [_convert(item_type, v) for v in value]
    if origin is dict:
        if isinstance(value, str):
            value = _json(value, dict)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value
    if origin is typing.Literal:
        for choice in typing.get_args(tp):
            if str(choice).lower() == str(value).lower():
                return choice
        raise ValueError("expected one of " + ", ".join(map(str, typing.get_args(tp))))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if str(value).lower() in (str(member.value).lower(), member.name.lower()):
                return member
        raise ValueError("expected one of " + ", ".join(str(m.value) for m in tp))
    raise TypeError(f"unsupported parameter type {tp!r}")


def _type_name(tp: Any) -> str:
    if tp in (str, int, float, bool, dict, list) or tp is Any:
        return getattr(tp, "__name__", "any")
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(tp))}]"
    if origin is typing.Literal:
        return " | ".join(map(str, typing.get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " | ".join(str(m.value) for m in tp)
    raise TypeError(
        f"unsupported parameter type {tp!r}: use str, int, float, bool, list[...], "
        "dict, Literal[...], an Enum, or X | None"
    )


def _json(text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON {kind.__name__} ({exc.msg})") from None
    return value


def _json_object(text: str, source: str, problems: list[str]) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(f"{source} is not valid JSON: {exc}")
        return {}
    if not isinstance(value, dict):
        problems.append(f"{source} must be a JSON object of parameters")
        return {}
    return {str(k).replace("-", "_"): v for k, v in value.items()}


def _manifest_item(text: str, index: int | None, problems: list[str]) -> dict[str, Any]:
    if index is None:
        problems.append(
            "--manifest needs AWS_BATCH_JOB_ARRAY_INDEX, which AWS Batch sets for "
            "array jobs (set it yourself to run one item locally)"
        )
        return {}
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            items = json.loads(stripped)
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        problems.append(f"--manifest is neither a JSON array nor JSON Lines: {exc}")
        return {}
    if not 0 <= index < len(items):
        problems.append(
            f"AWS_BATCH_JOB_ARRAY_INDEX={index} is outside the manifest's {len(items)} items"
        )
        return {}
    return _json_object(json.dumps(items[index]), f"manifest item {index}", problems)


def _read_uri(uri: str) -> str:
    from runtime import uris

    return uris.read_text(uri)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return repr(text if len(text) <= 60 else text[:57] + "...")


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
