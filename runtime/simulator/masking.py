"""Which of a local job's values are secret, so that nothing `local` prints or records shows one.

The job definition does not say which parameters are secret; the task's signature does
(`Annotated[str, Secret]`). So the task is loaded as `submit` loads it (TASK_MODULES, entry
points, with the job's environment over this process's) and every value that reaches a secret
flag is masked: in `parameters`, in `container.command`, and wherever it appears in a line the
job writes. A task that can't be loaded gives no answer, so then every parameter value is
treated as secret.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from runtime import registry
from runtime.errors import TaskError
from runtime.logs import Redactor
from runtime.ops import jobdef
from runtime.params import MASK, placeholders


@dataclass(frozen=True)
class Masking:
    """Masks for one job: its secret Batch parameters, command positions and values."""

    secret_parameters: frozenset[str]
    secret_positions: frozenset[int]
    redact: Redactor

    def parameters(self, values: Mapping[str, str]) -> dict[str, str]:
        return {
            k: MASK if k in self.secret_parameters else self.redact(v) for k, v in values.items()
        }

    def command(self, command: Sequence[str]) -> list[str]:
        return [
            MASK if i in self.secret_positions else self.redact(arg)
            for i, arg in enumerate(command)
        ]


def for_job(
    definition: jobdef.JobDefinition,
    given: Mapping[str, str],
    command: Sequence[str],
    environ: Mapping[str, str],
) -> Masking:
    """The masks for a job running `command`, its `Ref::`s filled from `given` and defaults."""
    values = {**definition.defaults, **given}
    redact = Redactor()
    # A task module may print while it is imported; what it prints (this process's command line
    # with its -p values, say) is shown once the masks are known.
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(printed):
        secret_flags = _secret_flags(command, environ)
    try:
        return _masking(definition, values, command, secret_flags, redact)
    finally:
        sys.stderr.write(redact(printed.getvalue()))


def _masking(
    definition: jobdef.JobDefinition,
    values: Mapping[str, str],
    command: Sequence[str],
    secret_flags: set[str] | None,
    redact: Redactor,
) -> Masking:
    refs = _refs(definition, command)
    if secret_flags is None:
        for value in values.values():
            redact.add(value)
        return Masking(frozenset(values), frozenset(refs.values()), redact)
    positions = set()
    for i, arg in enumerate(command):
        flag, has_value, value = arg.partition("=")
        if not arg.startswith("--") or _name(flag) not in secret_flags:
            continue
        if has_value:
            redact.add(value)
        elif i + 1 < len(command):
            positions.add(i + 1)
            redact.add(command[i + 1])
    for i, arg in enumerate(command):
        if arg.startswith("--params") and i + 1 < len(command):
            _add_inline_secrets(command[i + 1], secret_flags, redact)
        elif arg.startswith("--params="):
            _add_inline_secrets(arg.partition("=")[2], secret_flags, redact)
    secret = {name for name, i in refs.items() if i in positions}
    secret |= {name for name in values if _name("--" + name) in secret_flags}
    for name in secret:
        redact.add(values.get(name, ""))
    return Masking(frozenset(secret), frozenset(positions), redact)


def _secret_flags(command: Sequence[str], environ: Mapping[str, str]) -> set[str] | None:
    """The task's secret parameter names, or None when its task can't be loaded."""
    head = list(command[1:] if command[:1] == ["run"] else command)
    if not head or head[0].startswith("-"):
        return None
    try:
        task = registry.get(head[0], environ)
    except TaskError:
        return None
    return {p.name for p in task.params if p.secret}


def _refs(definition: jobdef.JobDefinition, command: Sequence[str]) -> dict[str, int]:
    """Each `Ref::` parameter of the definition's command and where its value lands."""
    if len(command) < len(definition.command):
        return {}
    found = ((placeholders.name_of(arg), i) for i, arg in enumerate(definition.command))
    return {name: i for name, i in found if name is not None}


def _add_inline_secrets(document: str, secret_flags: set[str], redact: Redactor) -> None:
    """`--params '{"token": ...}'` carries secrets too (a URI or @file is read by the job)."""
    try:
        given = json.loads(document)
    except ValueError:
        return
    if isinstance(given, dict):
        for key, value in given.items():
            if _name("--" + str(key)) in secret_flags and value is not None:
                redact.add(str(value))


def _name(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")
