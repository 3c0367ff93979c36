"""Remote log sinks: each receives every event as a `Record`, never blocking the task.

The one contract every sink keeps (`Sink`): `emit` returns at once, dropping and counting an
event it has no room for; `close` delivers what it can within the exit budget and returns
how many events never arrived, or may not have, so the caller can report it.

The sink modules import boto3 and ssl only when the environment turns them on, so that
`batch-task --help` and `list` start without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from runtime.job import Job
from runtime.sinks.record import Record

__all__ = ["Record", "Sink", "from_env"]


class Sink(Protocol):
    name: str
    """`cloudwatch` or `papertrail`, for the report of lost events."""
    error: str | None
    """Why the last delivery failed, for the same report."""

    def emit(self, record: Record) -> None:
        """Take one event; return at once, dropping (and counting) it when the queue is full.

        Called by one thread at a time, in stdout's order (the supervisor's output lock), which
        is the order the service receives; it formats the event there, in 2 to 4 µs.
        """

    def close(self, budget_seconds: float) -> int:
        """Deliver what is queued within the budget; return how many events were lost.

        Lost means not known to have arrived: dropped, refused by the service, still queued
        at the deadline, or sent on a connection that was never confirmed.
        """


def from_env(environ: Mapping[str, str], *, task: str, job: Job) -> list[Sink]:
    """The sinks the environment turns on (`CLOUDWATCH_LOG_GROUP`, `PAPERTRAIL_URL`).

    Raises `UsageError` naming the variable when a value can't work, before the task starts.
    Nothing is sent until the first event: a sink's thread connects on its own time.
    """
    sinks: list[Sink] = []
    if environ.get("CLOUDWATCH_LOG_GROUP", "").strip():
        from runtime.sinks import cloudwatch

        sinks.append(cloudwatch.from_env(environ, task=task, job=job))
    if environ.get("PAPERTRAIL_URL", "").strip():
        from runtime.sinks import papertrail

        sinks.append(papertrail.from_env(environ, task=task, job=job))
    return sinks
