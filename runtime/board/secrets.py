"""Keeping secret parameter values off the board, whatever field would carry them.

A job's task is loaded as the job itself loads it (runtime.batch.tasks): the job's own
environment as DescribeJobs shows it (`TASK_MODULES`, `PYTHONPATH`) over the board's, then the
entry points. Its secrets are masked as everywhere else (runtime.masking): where they stand in
the job's parameters and command, and in anything else shown for the job (log events,
progress, status reasons) when long enough to be a secret. A job whose task can't be loaded
has every parameter masked where it stands; the board says once why.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from runtime.batch import tasks
from runtime.errors import TaskError
from runtime.masking import MASK, TaskSecrets, mask_job, secrets_of

__all__ = ["MASK", "Masker", "Secrets"]


class Secrets:
    """The secrets of each job's task, loaded once per task and environment."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.environ = dict(environ)
        self._known: dict[tuple[str | None, str, str], TaskSecrets | None] = {}
        self._lock = threading.Lock()

    def of(self, raw: Mapping[str, Any]) -> TaskSecrets | None:
        container = raw.get("container") or {}
        command = list(container.get("command") or [])
        env = tasks.loading_environment(
            {e["name"]: str(e.get("value", "")) for e in container.get("environment") or []}
        )
        key = (tasks.name_of(command), env.get("TASK_MODULES", ""), env.get("PYTHONPATH", ""))
        with self._lock:
            if key not in self._known:
                self._known[key] = self._load(command, env, str(raw.get("jobDefinition")))
            return self._known[key]

    def _load(self, command: list[str], env: dict[str, str], definition: str) -> TaskSecrets | None:
        try:
            return secrets_of(tasks.load(command, env, definition, self.environ).params)
        except TaskError as exc:
            print(f"batch-task board: {exc}; its jobs' parameters are masked", file=sys.stderr)
            return None


class Masker:
    """Masks one job's secrets: `mask(raw)` for its document, `scrub(obj)` for the rest."""

    def __init__(self, secrets: TaskSecrets | None, raw: Mapping[str, Any]) -> None:
        command = list((raw.get("container") or {}).get("command") or [])
        self.secret = None if secrets is None else secrets.names
        self.masks = mask_job(command, dict(raw.get("parameters") or {}), secrets)

    def mask(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The job's document with its parameters and command masked, everything scrubbed."""
        out = dict(raw)
        out["parameters"] = self.masks.parameters
        if "container" in raw:
            out["container"] = {**(raw.get("container") or {}), "command": self.masks.command}
        return self.scrub(out)

    def scrub(self, obj: Any) -> Any:
        return self.masks.redact.scrub(obj)

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Parameters from a `task.started` event: secret names masked (the runtime did too)."""
        hidden = (lambda _: True) if self.secret is None else self.secret.__contains__
        return {k: MASK if hidden(k) else self.scrub(v) for k, v in params.items()}
