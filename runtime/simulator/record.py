"""A local job's record: its DescribeJobs document, rewritten in the local state as it changes.

`status`, `logs` and the board read local jobs through the same field names as AWS ones
(times in epoch milliseconds), so one reader serves both. An array job's document follows its
children: RUNNING once one runs, SUCCEEDED or FAILED when all have ended, with their counts.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.simulator.launch import Attempt
from runtime.simulator.state import LocalState

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL = ("SUCCEEDED", "FAILED")
# While only its children's counts change, an array job's document is rewritten at most this
# often (a 10,000-child array changes 30,000 times).
PARENT_WRITE_SECONDS = 0.5


@dataclass
class Unit:
    """What changes as a job (or one array child) runs; the rest is shared by the array."""

    job_id: str
    array_index: int | None
    status: str
    status_reason: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    stopped_at: float | None = None
    array_size: int | None = None
    attempts: list[Attempt] = field(default_factory=list)


def document(
    unit: Unit, shown: Mapping[str, Any], summary: Mapping[str, int] | None
) -> dict[str, Any]:
    """The DescribeJobs document of `unit`; `shown` holds its masked parameters and command,
    `summary` an array parent's children counted by status."""
    last = unit.attempts[-1].exit_code if unit.attempts else None
    described: dict[str, Any] = {
        "jobId": unit.job_id,
        "jobName": shown["jobName"],
        "jobQueue": shown["jobQueue"],
        "jobDefinition": shown["jobDefinition"],
        "status": unit.status,
        "statusReason": unit.status_reason,
        "createdAt": _ms(unit.created_at),
        "startedAt": _ms(unit.started_at),
        "stoppedAt": _ms(unit.stopped_at),
        "parameters": dict(shown["parameters"]),
        "container": {
            "command": list(shown["command"]),
            "environment": [{"name": k, "value": v} for k, v in shown["environment"].items()],
            "exitCode": last,
        },
        "attempts": [
            {
                "container": {"exitCode": a.exit_code, "reason": a.reason},
                "startedAt": _ms(a.started_at),
                "stoppedAt": _ms(a.stopped_at),
                "statusReason": a.status_reason,
            }
            for a in unit.attempts
        ],
        "dependsOn": list(shown["dependsOn"]) if unit.array_index is None else [],
        "tags": dict(shown["tags"]),
    }
    if unit.array_index is not None:
        described["arrayProperties"] = {"index": unit.array_index}
    elif summary is not None:
        described["arrayProperties"] = {"size": unit.array_size, "statusSummary": dict(summary)}
    return described


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


class JobRecord:
    """The documents of one job and its array children, written as their statuses change."""

    def __init__(
        self, state: LocalState, shown: Mapping[str, Any], main: Unit, children: list[Unit]
    ) -> None:
        self.state = state
        self.shown = shown
        self.main = main
        self.children = children
        self.counts = Counter(c.status for c in children)
        self.lock = threading.Lock()
        self.parent_written, self.parent_dirty = 0.0, False
        for unit in [main, *children]:
            self.write(unit)

    def set(self, unit: Unit, status: str, reason: str) -> None:
        """Change a job's status and record it; a child's change updates its parent too."""
        now = time.time()
        with self.lock:
            if unit is not self.main:
                self.counts[unit.status] -= 1
                self.counts[status] += 1
            unit.status, unit.status_reason = status, reason
            if status == "RUNNING":
                unit.started_at = unit.started_at or now
                self.main.started_at = self.main.started_at or now
            if status in TERMINAL:
                unit.stopped_at = now
            if unit is not self.main:
                before, self.parent_dirty = self.main.status, True
                self._follow_children(now)
                if self.main.status != before or now - self.parent_written > PARENT_WRITE_SECONDS:
                    self._write_parent(now)
        self.write(unit)

    def flush(self) -> None:
        """Write an array job's document if its counts changed since it was last written."""
        with self.lock:
            if self.parent_dirty:
                self._write_parent(time.time())

    def write(self, unit: Unit) -> None:
        self.state.write_job(self.document(unit))

    def document(self, unit: Unit) -> dict[str, Any]:
        summary = {s: self.counts[s] for s in STATUSES} if unit is self.main else None
        return document(unit, self.shown, summary if self.children else None)

    def _write_parent(self, now: float) -> None:
        self.write(self.main)
        self.parent_written, self.parent_dirty = now, False

    def _follow_children(self, now: float) -> None:
        parent, total = self.main, len(self.children)
        failed = self.counts["FAILED"]
        if self.counts["SUCCEEDED"] + failed == total:
            parent.status = "FAILED" if failed else "SUCCEEDED"
            parent.status_reason = (
                f"{failed} of {total} child jobs failed"
                if failed
                else f"All {total} child jobs succeeded"
            )
            parent.stopped_at = now
        elif parent.status != "RUNNING" and parent.started_at is not None:
            parent.status, parent.status_reason = "RUNNING", ""
