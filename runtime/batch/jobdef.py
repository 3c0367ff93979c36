"""An AWS Batch job definition, read the way Batch reads it, for `local` and `submit`.

The input is a `RegisterJobDefinition` request (the files in docker/job-definitions/), so the
file a developer runs locally is the file that gets registered. Only what decides how a job
runs is kept: the command with its `Ref::` placeholders and their defaults, the environment,
the retry strategy, the attempt timeout, the init process and the resources.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime import documents
from runtime.batch import tasks
from runtime.errors import InputNotFound, UsageError
from runtime.params import placeholders
from runtime.registry import Task

MAX_ATTEMPTS = 10
MAX_RULES = 5


@dataclass(frozen=True)
class ExitRule:
    """One `evaluateOnExit` entry: every condition it names must match for its action to apply."""

    action: str
    on_exit_code: str | None = None
    on_status_reason: str | None = None
    on_reason: str | None = None

    def matches(self, exit_code: int | None, status_reason: str, reason: str | None) -> bool:
        # A value the attempt lacks counts as empty text, which `*` matches: Batch's own
        # example retry strategy ends with `onReason: "*"` to catch every other exit.
        conditions = (
            (self.on_exit_code, "" if exit_code is None else str(exit_code)),
            (self.on_status_reason, status_reason),
            (self.on_reason, reason or ""),
        )
        return all(pattern is None or glob_match(pattern, value) for pattern, value in conditions)


@dataclass(frozen=True)
class JobDefinition:
    name: str
    command: tuple[str, ...]
    defaults: Mapping[str, str]
    environment: Mapping[str, str]
    attempts: int = 1
    rules: tuple[ExitRule, ...] = ()
    attempt_seconds: int | None = None
    init_process: bool = False
    vcpus: str | None = None
    memory_mib: str | None = None
    source: str = ""
    """Where it was read from: its file, or `name:revision` for a registered definition."""

    def task(self, command: Sequence[str], environ: Mapping[str, str] = os.environ) -> Task:
        """The task `command` runs, loaded with this definition's environment over `environ`."""
        return tasks.load(command, self.environment, self.source or self.name, environ)

    @property
    def placeholders(self) -> list[str]:
        """The parameter names the command refers to, in order of first use."""
        return placeholders.names(self.command)

    def command_for(self, given: Mapping[str, str], *, supplied_later: bool = False) -> list[str]:
        """Substitute `Ref::name` arguments: given values over the definition's defaults.

        As in Batch, a placeholder is a whole argument; text around `Ref::` is left alone.
        A placeholder with no value is an error, unless `supplied_later` (a manifest's items
        will supply it): then it stays `Ref::name`, as Batch passes it, and the container
        reads it as not given (runtime.params.placeholders).
        """
        known = set(self.placeholders) | set(self.defaults)
        unknown = sorted(set(given) - known)
        if unknown:
            raise UsageError(
                "; ".join(_unknown_message(name, known, self.name) for name in unknown)
            )
        command, missing = placeholders.substitute(self.command, {**self.defaults, **given})
        if missing and not supplied_later:
            raise UsageError(
                f"job definition {self.name!r} needs "
                + ", ".join(f"-p {name}=VALUE" for name in missing)
                + " (its command uses "
                + ", ".join(f"Ref::{name}" for name in missing)
                + " and the definition has no default)"
            )
        return command

    def action_after(self, exit_code: int | None, status_reason: str, reason: str | None) -> str:
        """RETRY or EXIT: the first matching rule decides, and no match means retry (as Batch)."""
        for rule in self.rules:
            if rule.matches(exit_code, status_reason, reason):
                return rule.action
        return "RETRY"


def glob_match(pattern: str, value: str) -> bool:
    """Batch's globs: exact text, or a prefix when the pattern ends with `*`."""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def load(path: str | Path) -> JobDefinition:
    """Read and check a RegisterJobDefinition file (read as every user document is: bounded)."""
    return parse(load_document(path), str(path))


def load_document(path: str | Path) -> Any:
    """The JSON document of a job definition file, as it would be sent to Batch.

    A missing file is a usage error here, not 66: JOBDEF is the command's own argument, so the
    command line is what needs fixing.
    """
    source = str(path)
    try:
        text = documents.read_text(source, "job definition")
    except InputNotFound:
        raise UsageError(
            f"job definition {source!r} does not exist: give the path of a "
            "RegisterJobDefinition JSON file, e.g. docker/job-definitions/ingest.json"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"job definition {source!r} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}; fix the file"
        ) from None
    except (RecursionError, ValueError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(f"job definition {source!r} is not usable JSON: {reason}") from None


def parse(document: Any, source: str) -> JobDefinition:
    """Check the parts `local` uses and report every problem at once, naming the file."""
    problems: list[str] = []
    doc = _object(document, "the document", problems)
    kind = doc.get("type", "container")
    if kind != "container":
        problems.append(f"type {kind!r}: only container job definitions can be run locally")
    props = _object(doc.get("containerProperties"), "containerProperties", problems)
    command = props.get("command")
    if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
        problems.append("containerProperties.command must be a non-empty list of strings")
        command = []
    defaults = _strings(doc.get("parameters", {}), "parameters", problems)
    environment = _environment(props.get("environment", []), problems)
    retry = _object(doc.get("retryStrategy", {}), "retryStrategy", problems)
    attempts = retry.get("attempts", 1)
    if not (isinstance(attempts, int) and 1 <= attempts <= MAX_ATTEMPTS):
        problems.append(f"retryStrategy.attempts must be an integer from 1 to {MAX_ATTEMPTS}")
        attempts = 1
    rules = _rules(retry.get("evaluateOnExit", []), problems)
    timeout = _object(doc.get("timeout", {}), "timeout", problems)
    seconds = timeout.get("attemptDurationSeconds")
    if seconds is not None and not (isinstance(seconds, int) and seconds > 0):
        problems.append("timeout.attemptDurationSeconds must be a positive integer")
        seconds = None
    linux = _object(props.get("linuxParameters", {}), "linuxParameters", problems)
    requirements = props.get("resourceRequirements", [])
    if not isinstance(requirements, list):
        problems.append("containerProperties.resourceRequirements must be a list of {type, value}")
        requirements = []
    resources = {r.get("type"): r.get("value") for r in requirements if isinstance(r, dict)}
    name = doc.get("jobDefinitionName")
    if not isinstance(name, str) or not name:
        problems.append("jobDefinitionName must be a non-empty string")
        name = Path(source).stem
    if problems:
        raise UsageError(f"job definition {source!r} can't be run:\n  - " + "\n  - ".join(problems))
    return JobDefinition(
        name=name,
        command=tuple(command),
        defaults=defaults,
        environment=environment,
        attempts=attempts,
        rules=rules,
        attempt_seconds=seconds,
        init_process=bool(linux.get("initProcessEnabled", False)),
        vcpus=resources.get("VCPU"),
        memory_mib=resources.get("MEMORY"),
        source=source,
    )


def _object(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    problems.append(f"{where} must be a JSON object")
    return {}


def _strings(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    mapping = _object(value, where, problems)
    bad = [k for k, v in mapping.items() if not isinstance(v, str)]
    if bad:
        problems.append(f"{where}: values must be strings (Batch substitutes text): {bad}")
    return {k: v for k, v in mapping.items() if isinstance(v, str)}


def _environment(value: Any, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, list):
        problems.append("containerProperties.environment must be a list of {name, value}")
        return {}
    env: dict[str, str] = {}
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            problems.append(f"containerProperties.environment entry {item!r} has no name")
            continue
        env[item["name"]] = str(item.get("value", ""))
    return env


def _rules(value: Any, problems: list[str]) -> tuple[ExitRule, ...]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        problems.append(f"retryStrategy.evaluateOnExit must be a list of at most {MAX_RULES}")
        return ()
    rules = []
    for i, item in enumerate(value):
        where = f"retryStrategy.evaluateOnExit[{i}]"
        entry = _object(item, where, problems)
        action = str(entry.get("action", "")).upper()
        if action not in ("RETRY", "EXIT"):
            problems.append(f"{where}.action must be RETRY or EXIT")
            continue
        conditions = ("onExitCode", "onStatusReason", "onReason")
        if any(not isinstance(entry.get(key, ""), str) for key in conditions):
            problems.append(f"{where}: onExitCode, onStatusReason and onReason must be text")
            continue
        rules.append(
            ExitRule(
                action=action,
                on_exit_code=entry.get("onExitCode"),
                on_status_reason=entry.get("onStatusReason"),
                on_reason=entry.get("onReason"),
            )
        )
    return tuple(rules)


def _unknown_message(name: str, known: set[str], definition: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    names = ", ".join(sorted(known)) or "none"
    return (
        f"parameter {name!r} is not used by job definition {definition!r} "
        f"(its parameters: {names}){hint}"
    )
