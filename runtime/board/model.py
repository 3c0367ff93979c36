"""DescribeJobs-like documents turned into the board's JSON shapes (SPEC "Job board").

AWS jobs and local jobs share AWS's field names, so one translation serves both: times in
epoch milliseconds become RFC 3339 UTC strings with milliseconds, a queue ARN becomes its name,
and the workflow run a job belongs to comes from its `batch-task:run-id` tag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime import timestamps

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED"})
RUN_TAG = "batch-task:run-id"


def rfc3339(value: Any) -> str | None:
    """Epoch milliseconds (or an RFC 3339 string already) as `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    if value in (None, "", 0):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
        except ValueError:
            return None
    return timestamps.rfc3339(float(value) / 1000)


def queue_name(value: str | None) -> str | None:
    """`arn:aws:batch:...:job-queue/NAME` or `NAME` -> `NAME`."""
    if not value:
        return None
    return value.rsplit("job-queue/", 1)[-1]


def is_child(job_id: str) -> bool:
    """Array children have ids `PARENT:INDEX`, on AWS and locally."""
    return ":" in job_id


def array_size(raw: dict[str, Any]) -> int | None:
    props = raw.get("arrayProperties") or {}
    if "index" in props:
        return None
    size = props.get("size")
    return int(size) if size else None


def children(raw: dict[str, Any]) -> dict[str, int]:
    """Counts of an array's children by status ({} for a job that is not an array)."""
    if array_size(raw) is None:
        return {}
    summary = (raw.get("arrayProperties") or {}).get("statusSummary") or {}
    return {status: int(summary[status]) for status in STATUSES if summary.get(status)}


def summary(
    raw: dict[str, Any], progress: dict[str, Any] | None, queue: str | None = None
) -> dict[str, Any]:
    """The row of `/api/jobs` (plus `children`, so a row can show its array's grid)."""
    tags = raw.get("tags") or {}
    return {
        "job_id": raw["jobId"],
        "name": raw.get("jobName"),
        "status": raw.get("status"),
        "queue": queue_name(raw.get("jobQueue")) or queue,
        "created_at": rfc3339(raw.get("createdAt")),
        "started_at": rfc3339(raw.get("startedAt")),
        "stopped_at": rfc3339(raw.get("stoppedAt")),
        "progress": progress.get("progress") if progress else None,
        "stage": progress.get("stage") if progress else None,
        "array_size": array_size(raw),
        "run_id": tags.get(RUN_TAG),
        "children": children(raw),
    }


def attempts(raw: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for attempt in raw.get("attempts") or []:
        container = attempt.get("container") or {}
        found.append(
            {
                "exit_code": container.get("exitCode"),
                "reason": container.get("reason") or attempt.get("statusReason"),
                "started_at": rfc3339(attempt.get("startedAt")),
                "stopped_at": rfc3339(attempt.get("stoppedAt")),
            }
        )
    return found


def started_params(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parameters as the runtime parsed them: the latest `task.started` event's."""
    for event in reversed(events):
        if event.get("event") == "task.started" and isinstance(event.get("params"), dict):
            return event["params"]
    return None


def detail(
    raw: dict[str, Any],
    progress: dict[str, Any] | None,
    events: list[dict[str, Any]],
    queue: str | None = None,
) -> dict[str, Any]:
    """`/api/jobs/{id}`: the row plus parameters, attempts, status reason and latest progress."""
    out = summary(raw, progress, queue)
    out.update(
        parameters=started_params(events) or dict(raw.get("parameters") or {}),
        attempts=attempts(raw),
        status_reason=raw.get("statusReason") or None,
        last_progress=progress,
        command=list((raw.get("container") or {}).get("command") or []),
        depends_on=[d.get("jobId") for d in raw.get("dependsOn") or []],
        error=failure(events, progress),
    )
    return out


def failure(events: list[dict[str, Any]], progress: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `task.failed` event's error, plainly: type, message, exit code, retryable."""
    for event in reversed(events):
        if event.get("event") == "task.failed":
            return {
                "type": event.get("error_type"),
                "message": event.get("error"),
                "exit_code": event.get("exit_code"),
                "retryable": event.get("retryable"),
            }
    if progress and isinstance(progress.get("error"), dict):
        return dict(progress["error"])
    return None
