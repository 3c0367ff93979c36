"""A local job as AWS Batch's DescribeJobs shows it: the document the local state holds.

`status`, `logs` and the board read local jobs through the same field names as AWS ones
(times in epoch milliseconds), so one reader serves both.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.simulator.launch import Attempt

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL = ("SUCCEEDED", "FAILED")


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
        "container": {"command": list(shown["command"]), "exitCode": last},
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
