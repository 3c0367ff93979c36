"""What the progress bar reads of a run's progress, apart from who produces it."""

from __future__ import annotations

from typing import NamedTuple

FINAL = frozenset({"SUCCEEDED", "FAILED"})


class Snapshot(NamedTuple):
    status: str | None
    progress: float
    stage: str | None
    message: str | None
