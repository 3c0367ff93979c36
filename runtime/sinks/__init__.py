"""Remote log sinks: each receives every rendered JSON line, never blocking the task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from runtime.job import Job


class Sink(Protocol):
    name: str

    def emit(self, line: str) -> None:
        """Take one rendered event; must return at once, dropping (and counting) if full."""

    def close(self, timeout: float) -> int:
        """Deliver what is queued within `timeout` seconds; return how many events were lost."""


def from_env(environ: Mapping[str, str], *, task: str, job: Job) -> list[Sink]:
    """The sinks the environment turns on (`CLOUDWATCH_LOG_GROUP`, `PAPERTRAIL_URL`)."""
    return []
