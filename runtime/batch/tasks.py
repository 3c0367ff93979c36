"""The task a job runs, known the way the job itself will know it.

In its container the runtime imports the modules `TASK_MODULES` names, found on the job's own
`PYTHONPATH`, then the `batch_task.tasks` entry points; both come from the job definition's
`environment`. Every laptop command that needs a task's signature (`submit`, `workflow
validate|local|submit`, `local`'s masking, the board's) asks here, with that environment over
the operator's: a definition that `local` runs is then one they all accept, and a task that
can't be loaded is reported as the module that failed, not as a task name mistyped.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence

from runtime import registry
from runtime.errors import UsageError
from runtime.registry import Task


def name_of(command: Sequence[str]) -> str | None:
    """The task a command names: its first word, or its second after `run`."""
    head = list(command[1:] if command[:1] == ["run"] else command)
    return head[0] if head and not head[0].startswith("-") else None


def arguments(command: Sequence[str]) -> list[str]:
    """The arguments after the task's name."""
    head = list(command[1:] if command[:1] == ["run"] else command)
    return head[1:]


def loading_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables that decide which tasks a job can load, as a record of the job keeps them
    for a later reader in another directory: `TASK_MODULES`, and `PYTHONPATH` made absolute."""
    kept = {k: environment[k] for k in ("TASK_MODULES", "PYTHONPATH") if environment.get(k)}
    if "PYTHONPATH" in kept:
        entries = kept["PYTHONPATH"].split(os.pathsep)
        kept["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in entries if p)
    return kept


def load(
    command: Sequence[str],
    environment: Mapping[str, str],
    definition: str,
    environ: Mapping[str, str] = os.environ,
) -> Task:
    """The task `command` runs in a job with the definition's `environment` over `environ`.

    Every failure is a UsageError naming the definition, and the module when one failed.
    """
    name = name_of(command)
    if name is None:
        raise UsageError(
            f"job definition {definition!r}: its command {list(command)} does not start with a "
            "task name"
        )
    merged = {**environ, **environment}
    where = "its environment" if "TASK_MODULES" in environment else "your environment"
    try:
        tasks = registry.load(merged)
    except registry.ModuleNotLoaded as exc:
        if exc.module not in registry.modules(merged):
            raise UsageError(
                f"job definition {definition!r} runs task {name!r}, but {exc}"
            ) from None
        path = merged.get("PYTHONPATH") or "not set"
        raise UsageError(
            f"job definition {definition!r} runs task {name!r}, but module {exc.module!r} "
            f"(TASK_MODULES from {where}) {exc.problem} with PYTHONPATH {path!r}: fix "
            "TASK_MODULES or PYTHONPATH in the definition's environment, or install the module"
        ) from None
    if name in tasks:
        return tasks[name]
    close = difflib.get_close_matches(name, tasks, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    named = ", ".join(registry.modules(merged)) or "none"
    raise UsageError(
        f"job definition {definition!r} runs task {name!r}, which no task module registers "
        f"(TASK_MODULES from {where}: {named}; and the installed entry points){hint}"
    )
