"""Remote log sinks: each receives every rendered JSON line, never blocking the task.

The sink modules import boto3 and ssl only when the environment turns them on, so that
`batch-task --help` and `list` start without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from runtime.job import Job


class Sink(Protocol):
    name: str
    error: str | None
    """Why the last delivery failed, for the final report of dropped events."""

    def emit(self, line: str) -> None:
        """Take one rendered event; must return at once, dropping (and counting) if full."""

    def close(self, timeout: float) -> int:
        """Deliver what is queued within `timeout` seconds; return how many events were lost."""


def from_env(environ: Mapping[str, str], *, task: str, job: Job) -> list[Sink]:
    """The sinks the environment turns on (`CLOUDWATCH_LOG_GROUP`, `PAPERTRAIL_URL`).

    Raises `UsageError` naming the variable when a value can't work, before the task starts.
    """
    sinks: list[Sink] = []
    if environ.get("CLOUDWATCH_LOG_GROUP", "").strip():
        from runtime.sinks import cloudwatch

        sinks.append(cloudwatch.from_env(environ, task=task, job=job))
    if environ.get("PAPERTRAIL_URL", "").strip():
        from runtime.sinks import papertrail

        sinks.append(papertrail.from_env(environ, task=task, job=job))
    return sinks
