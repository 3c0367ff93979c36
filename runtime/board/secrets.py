"""Keeping secret parameter values off the board, whatever field would carry them.

Tasks are loaded as `submit` loads them (TASK_MODULES, entry points). A job's task is the
first word of its command; the parameters its signature marks secret are masked in the
job's parameters and command, and every value found there is then scrubbed from anything else
shown for the job (log events, progress, status reasons). A job whose task can't be loaded
has every parameter treated as secret.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from runtime import registry
from runtime.errors import UsageError
from runtime.params.placeholders import is_unresolved, name_of

MASK = "***"
_SHORTEST_SCRUBBED = 4


def load_tasks(environ: Mapping[str, str] = os.environ) -> dict[str, frozenset[str]]:
    """Each loadable task's secret parameter names (in `snake_case`)."""
    try:
        tasks = registry.load(environ)
    except UsageError as exc:
        print(f"batch-task board: {exc}; every job's parameters are masked", file=sys.stderr)
        return {}
    return {name: frozenset(p.name for p in t.params if p.secret) for name, t in tasks.items()}


def _norm(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


class Masker:
    """Masks one job's secrets: `mask(raw)` for its document, `scrub(obj)` for the rest."""

    def __init__(self, tasks: Mapping[str, frozenset[str]], raw: Mapping[str, Any]) -> None:
        command = list((raw.get("container") or {}).get("command") or [])
        head = command[1:] if command[:1] == ["run"] else command
        self.task = head[0] if head else None
        self.known = self.task in tasks
        self.secret = tasks.get(self.task or "", frozenset())
        self.values: set[str] = set()
        self._command = self._mask_command(command)
        self._parameters = self._mask_parameters(dict(raw.get("parameters") or {}), command)

    def _hidden(self, name: str) -> bool:
        return not self.known or _norm(name) in self.secret

    def _keep(self, value: Any) -> None:
        if isinstance(value, str) and value and value != MASK and not is_unresolved(value):
            self.values.add(value)

    def _mask_command(self, command: list[str]) -> list[str]:
        out: list[str] = []
        flag: str | None = None
        prefix = 1 if command[:1] != ["run"] else 2
        for position, word in enumerate(command):
            if position < prefix:
                out.append(word)
                continue
            if word.startswith("--"):
                name, eq, value = word.partition("=")
                flag = None if eq else name
                out.append(f"{name}={self._value(name, value)}" if eq else word)
                continue
            out.append(self._value(flag, word) if flag else self._value("", word))
        return out

    def _value(self, flag: str, value: str) -> str:
        if flag == "--params":
            return self._mask_params_json(value)
        if flag and not self._hidden(flag):
            return value
        self._keep(value)
        return MASK

    def _mask_params_json(self, value: str) -> str:
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            return value if self.known else MASK
        if not isinstance(document, dict):
            return MASK
        masked = {}
        for key, item in document.items():
            if self._hidden(key):
                self._keep(item if isinstance(item, str) else json.dumps(item))
                masked[key] = MASK
            else:
                masked[key] = item
        return json.dumps(masked)

    def _mask_parameters(self, parameters: dict[str, Any], command: list[str]) -> dict[str, Any]:
        """Batch parameters are `Ref::` names: secret when their name or their flag is."""
        found = (
            (name_of(word), command[i - 1])
            for i, word in enumerate(command)
            if i and isinstance(word, str)
        )
        behind = {name: flag for name, flag in found if name is not None}
        masked = {}
        for name, value in parameters.items():
            if self._hidden(name) or self._hidden(behind.get(name, name)):
                self._keep(value)
                masked[name] = MASK
            else:
                masked[name] = value
        return masked

    def mask(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The job's document with its parameters and command masked, everything scrubbed."""
        out = dict(raw)
        out["parameters"] = self._parameters
        if "container" in raw:
            out["container"] = {**(raw.get("container") or {}), "command": self._command}
        return self.scrub(out)

    def scrub(self, obj: Any) -> Any:
        """Replace every secret value found anywhere in `obj` (strings, lists, dicts)."""
        if not self.values:
            return obj
        if isinstance(obj, str):
            return self._scrub_text(obj)
        if isinstance(obj, list):
            return [self.scrub(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self.scrub(value) for key, value in obj.items()}
        return obj

    def _scrub_text(self, text: str) -> str:
        if text in self.values:
            return MASK
        for value in self.values:
            if len(value) >= _SHORTEST_SCRUBBED and value in text:
                text = text.replace(value, MASK)
        return text

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Parameters from a `task.started` event: secret names masked (the runtime did too)."""
        return {k: MASK if self._hidden(k) else self.scrub(v) for k, v in params.items()}
