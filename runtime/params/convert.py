"""Raw values (command-line text or JSON) converted to the types a task function annotates.

AWS Batch `Ref::` substitution only produces strings, so every value may arrive as text; JSON
from `--params` and manifests may already be typed. Each converter raises `ValueError` with
what it expected, and the parser reports it next to the flag.
"""

from __future__ import annotations

import enum
import json
import math
import typing
from typing import Any

TRUE = frozenset({"true", "1", "yes", "y", "on"})
FALSE = frozenset({"false", "0", "no", "n", "off"})


def convert(tp: Any, value: Any) -> Any:
    """Convert `value` to the annotation `tp`, or raise ValueError saying what was expected."""
    if tp is Any:
        return value
    if tp is str:
        return _text(value)
    if tp is bool:
        return _bool(value)
    if tp is int:
        return _int(value)
    if tp is float:
        return _float(value)
    origin = typing.get_origin(tp) or tp
    if origin is list:
        if isinstance(value, str):
            value = loads(value, "a JSON list") if value.lstrip().startswith("[") else [value]
        if not isinstance(value, list):
            raise ValueError("expected a list")
        (item_type,) = typing.get_args(tp) or (Any,)
        return [convert(item_type, v) for v in value]
    if origin is dict:
        if isinstance(value, str):
            value = loads(value, "a JSON object")
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


def choices(tp: Any) -> tuple[str, ...]:
    """The values a `Literal[...]` or an Enum (or a list of one) declares, as text."""
    if typing.get_origin(tp) is list:
        return choices((typing.get_args(tp) or (Any,))[0])
    if typing.get_origin(tp) is typing.Literal:
        return tuple(str(c) for c in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple(str(m.value) for m in tp)
    return ()


def type_name(tp: Any) -> str:
    """How `describe` and error messages name an annotation; refuses what can't be parsed."""
    if tp in (str, int, float, bool, dict, list) or tp is Any:
        return getattr(tp, "__name__", "any")
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(type_name(a) for a in typing.get_args(tp))}]"
    if origin is typing.Literal:
        return " | ".join(map(str, typing.get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " | ".join(str(m.value) for m in tp)
    raise TypeError(
        f"unsupported parameter type {tp!r}: use str, int, float, bool, list[...], "
        "dict, Literal[...], an Enum, or X | None"
    )


def loads(text: str, expected: str) -> Any:
    """JSON text to a value; any way it can fail (syntax, nesting, huge numbers) is a ValueError.

    Python's decoder raises RecursionError for deep nesting and a plain ValueError for integers
    over 4,300 digits: both are a user's bad input, not a bug. Nor is a `\ud800` escape.
    """
    try:
        value = json.loads(text)
        # A `\ud800` escape decodes to a lone surrogate, which no log line can carry.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise ValueError(f"expected {expected} (it escapes a lone surrogate, not text)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected {expected} ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ValueError(f"expected {expected} (it is nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"expected {expected} ({exc})") from None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected text")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError("expected true or false")


def _int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected an integer")
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError("expected an integer") from None


def _float(value: Any) -> float:
    # NaN and infinity would make every later log and progress event invalid JSON.
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        number = float(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def preview(value: Any, limit: int = 60) -> str:
    """A raw value as messages quote it: repr, cut to `limit` characters."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
