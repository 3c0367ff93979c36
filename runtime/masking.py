"""Secrets kept out of everything shown: one rule for job logs, local records and the board.

A secret is masked in two ways. Where it stands (its parameter, the argument after its flag
in a command, its key in a `--params` document) it is replaced whatever its length. In free
text (log lines, errors, status reasons, tracebacks) its value is searched for and replaced
only when it is at least `MIN_LENGTH` characters long, as credentials are, and is not one of
the task's declared choices: a short or ordinary value ("input", "deflate") would blank out
words, and a reader would lose the error that says what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.params import placeholders

MASK = "***"
MIN_LENGTH = 8


class Redactor:
    """Replaces known secret values in text, wherever they occur, in their JSON-escaped form
    too (a rendered log line escapes quotes and backslashes); the longest first, so that a
    secret containing another is replaced whole."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) < MIN_LENGTH:
            return
        for form in (secret, json.dumps(secret)[1:-1]):
            if form not in self._forms:
                self._forms.append(form)
        self._forms.sort(key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def scrub(self, obj: Any) -> Any:
        """Every string in `obj` (nested lists and dicts included) redacted."""
        if not self._forms:
            return obj
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, list):
            return [self.scrub(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self.scrub(value) for key, value in obj.items()}
        return obj


@dataclass(frozen=True)
class TaskSecrets:
    """What a task's signature says about secrets: the names of its secret parameters
    (`snake_case`) and every value one of its parameters declares as a choice."""

    names: frozenset[str] = frozenset()
    choices: frozenset[str] = frozenset()


@dataclass
class JobMasks:
    """One job's command and Batch parameters as they may be shown, and the redactor that
    keeps their secret values out of everything else shown for the job."""

    command: list[str]
    parameters: dict[str, Any]
    redact: Redactor = field(default_factory=Redactor)


def mask_job(
    command: Sequence[str],
    parameters: Mapping[str, Any],
    secrets: TaskSecrets | None,
    template: Sequence[str] = (),
) -> JobMasks:
    """Mask a job's secrets where they stand; `secrets` None means its task is unknown, and
    then every value is treated as secret. `template` is the definition's command, whose
    `Ref::name` arguments tell which flag each Batch parameter's value lands behind."""
    masker = _Masker(secrets)
    masked_command = masker.command(list(command))
    behind = _flags_behind(template or command)
    masked_parameters = {}
    for name, value in parameters.items():
        if masker.hidden(name) or masker.hidden(behind.get(name, name)):
            masker.keep(value if isinstance(value, str) else json.dumps(value))
            masked_parameters[name] = MASK
        else:
            masked_parameters[name] = value
    return JobMasks(masked_command, masked_parameters, masker.redact)


class _Masker:
    def __init__(self, secrets: TaskSecrets | None) -> None:
        self.known = secrets is not None
        self.secret = secrets.names if secrets else frozenset()
        self.choices = secrets.choices if secrets else frozenset()
        self.redact = Redactor()

    def hidden(self, flag: str) -> bool:
        return not self.known or _name(flag) in self.secret

    def keep(self, value: str) -> None:
        if value != MASK and not placeholders.is_unresolved(value) and value not in self.choices:
            self.redact.add(value)

    def value(self, flag: str, value: str) -> str:
        if _name(flag) == "params":
            return self.params_document(value)
        if not self.hidden(flag):
            return value
        self.keep(value)
        return MASK

    def command(self, command: list[str]) -> list[str]:
        """Everything after the task's name: a flag stays, the value after a secret flag (or,
        for an unknown task, every value) is masked, `--flag=value` as one argument."""
        start = 2 if command[:1] == ["run"] else 1
        out = command[:start]
        flag = ""
        for word in command[start:]:
            if word.startswith("--"):
                name, eq, value = word.partition("=")
                flag = "" if eq else name
                out.append(f"{name}={self.value(name, value)}" if eq else word)
            else:
                out.append(self.value(flag, word))
        return out

    def params_document(self, value: str) -> str:
        """`--params '{"token": ...}'` masks its secret keys (a URI or @file is the job's)."""
        try:
            document = json.loads(value)
        except ValueError:
            if self.known:
                return value
            self.keep(value)
            return MASK
        if not isinstance(document, dict):
            return value if self.known else MASK
        masked = {}
        for key, item in document.items():
            if self.hidden(str(key)) and item is not None:
                self.keep(item if isinstance(item, str) else json.dumps(item))
                masked[key] = MASK
            else:
                masked[key] = item
        return json.dumps(masked)


def _flags_behind(command: Sequence[str]) -> dict[str, str]:
    """Each `Ref::name` argument's Batch parameter name and the flag before it."""
    found = ((placeholders.name_of(word), command[i - 1]) for i, word in enumerate(command) if i)
    return {name: flag for name, flag in found if name is not None and flag.startswith("--")}


def _name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def secrets_of(params: Collection[Any]) -> TaskSecrets:
    """A task's secrets from its parameters (runtime.params.Param)."""
    return TaskSecrets(
        frozenset(p.name for p in params if p.secret),
        frozenset(choice for p in params for choice in p.choices),
    )
