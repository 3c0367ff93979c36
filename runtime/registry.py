"""Where tasks come from: the `@task` decorator, `TASK_MODULES` and entry points.

Registering a task only records the function; its parameters are read from the signature on
first use, so `batch-task list` stays as cheap as importing the task modules.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, overload

from runtime.errors import UsageError
from runtime.params import Param, context_param, params_of

RESERVED = frozenset(
    {
        "list",
        "describe",
        "run",
        "doctor",
        "local",
        "submit",
        "schedule",
        "status",
        "logs",
        "workflow",
        "board",
        "help",
    }
)
ENTRY_POINT_GROUP = "batch_task.tasks"
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Task:
    name: str
    func: Callable[..., Any]

    @property
    def summary(self) -> str:
        return self.description.split("\n\n", 1)[0].replace("\n", " ")

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.func) or ""
        return doc.split("\nArgs:", 1)[0].strip()

    @functools.cached_property
    def params(self) -> tuple[Param, ...]:
        return params_of(self.func)

    @property
    def context_arg(self) -> str | None:
        """The name of the parameter annotated `TaskContext`, which receives the context."""
        return context_param(self.func)


_tasks: dict[str, Task] = {}


@overload
def task(func: Callable[..., Any], /) -> Callable[..., Any]: ...
@overload
def task(*, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def task(func: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Register a function as a task: `@task` or `@task(name="my-task")`.

    The name defaults to the function's name with `_` turned into `-`.
    """

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        task_name = name or f.__name__.replace("_", "-")
        if not _NAME.match(task_name):
            raise ValueError(
                f"task name {task_name!r} is invalid: use lowercase words joined by '-'"
            )
        if task_name in RESERVED:
            raise ValueError(
                f"task name {task_name!r} is reserved for a batch-task command; choose another"
            )
        known = _tasks.get(task_name)
        if known is not None and _qualname(known.func) != _qualname(f):
            raise ValueError(f"task {task_name!r} is already registered by {_qualname(known.func)}")
        _tasks[task_name] = Task(task_name, f)
        return f

    return register(func) if func is not None else register


class ModuleNotLoaded(UsageError):
    """A task module named by `TASK_MODULES` or an entry point can't be imported."""

    def __init__(self, what: str, module: str, problem: str, advice: str = "") -> None:
        super().__init__(f"{what} {problem}{advice}")
        self.module = module
        self.problem = problem


def modules(environ: Mapping[str, str]) -> list[str]:
    """The modules `TASK_MODULES` names, in order."""
    return [m for m in (m.strip() for m in environ.get("TASK_MODULES", "").split(",")) if m]


def load(environ: Mapping[str, str]) -> dict[str, Task]:
    """Import `TASK_MODULES` and the `batch_task.tasks` entry points (the built-ins among them).

    The modules are looked for on `environ`'s PYTHONPATH as well as this interpreter's path,
    as a job started with that environment would find them, so that a laptop command can load
    the tasks of a job definition that sets both.
    """
    with _on_path(environ.get("PYTHONPATH", "")):
        for module in modules(environ):
            load_module = functools.partial(importlib.import_module, module)
            _import(load_module, module, f"TASK_MODULES' {module!r}")
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _import(ep.load, ep.value, f"entry point {ep.name!r} ({ep.value}) in {ENTRY_POINT_GROUP}")
    return dict(sorted(_tasks.items()))


@contextlib.contextmanager
def _on_path(python_path: str) -> Iterator[None]:
    """PYTHONPATH's entries on sys.path while task modules are imported, then removed again
    (a module keeps what it imported; its later imports are its own business)."""
    entries = [os.path.abspath(p) for p in python_path.split(os.pathsep) if p]
    added = [p for p in dict.fromkeys(entries) if p not in sys.path]
    sys.path[0:0] = added
    if added:
        importlib.invalidate_caches()
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _import(load: Callable[[], object], module: str, what: str) -> None:
    """Turn a broken task module into a usage error that names it, not a traceback."""
    try:
        load()
    except ImportError as exc:
        raise ModuleNotLoaded(
            what, module, f"can't be imported ({exc})", "; check the name and PYTHONPATH"
        ) from exc
    except Exception as exc:
        raise ModuleNotLoaded(what, module, f"failed while registering its tasks: {exc}") from exc


def get(name: str, environ: Mapping[str, str]) -> Task:
    tasks = load(environ)
    if name in tasks:
        return tasks[name]
    close = difflib.get_close_matches(name, tasks, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown task {name!r}{hint} (`batch-task list` shows the registered tasks)")


def _qualname(f: Callable[..., Any]) -> str:
    return f"{f.__module__}.{f.__qualname__}"
