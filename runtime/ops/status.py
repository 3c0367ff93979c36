"""`batch-task status JOB_ID`: a job's status joined with its latest progress event.

Batch only says RUNNING until a job ends; the runtime's progress document (PROGRESS_URL=s3://)
says how far it got. Both are read here and shown together. A job `batch-task local` ran is
read from the local state (its document and recorded progress events); a job Batch does not
know is pieced together from its events in the runtime's log group (CLOUDWATCH_LOG_GROUP).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from runtime.errors import InputNotFound
from runtime.ops import aws
from runtime.ops.arguments import Parser
from runtime.ops.jobs import BatchJob
from runtime.simulator.state import LocalState, child_id


def progress_documents(job: BatchJob, progress_url: str | None) -> dict[str, dict[str, Any]]:
    """The latest progress event of the job, or of each array child, keyed by job id."""
    if not progress_url or not progress_url.startswith("s3://"):
        return {}
    bucket, _, prefix = progress_url.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    base = f"{prefix}/{job.job_id}" if prefix else job.job_id
    s3 = aws.client("s3")
    keys = [f"{base}.json"]
    if job.array_size:
        listed = aws.call(
            s3.list_objects_v2,
            f"ListObjectsV2(s3://{bucket}/{base}:)",
            Bucket=bucket,
            Prefix=f"{base}:",
        )
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
    documents = {}
    for key in keys:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if "NoSuchKey" in str(exc):
                continue
            raise
        event = json.loads(body)
        documents[str(event.get("job_id", key))] = event
    return documents


def local_progress(state: LocalState, job: BatchJob) -> dict[str, dict[str, Any]]:
    """The latest recorded progress event of a local job, or of each array child."""
    ids = [child_id(job.job_id, i) for i in range(job.array_size or 0)] or [job.job_id]
    latest = {jid: state.latest_progress(jid) for jid in ids}
    return {jid: event for jid, event in latest.items() if event is not None}


def from_runtime_events(job_id: str, events: list[dict[str, Any]]) -> BatchJob:
    """A DescribeJobs-like document from the runtime's own events of a job Batch forgot."""
    parsed = [e for e in (_json(e["message"]) for e in events) if e is not None]
    attempts: dict[int, dict[str, Any]] = {}
    status, reason, command = "RUNNING", "", []
    for event in parsed:
        at = _ms(event.get("timestamp"))
        attempt = attempts.setdefault(int(event.get("attempt") or 1), {"startedAt": at})
        if event.get("task"):
            command = [str(event["task"])]
        if event.get("event") in ("task.succeeded", "task.failed"):
            failed = event["event"] == "task.failed"
            code = event.get("exit_code", 1) if failed else 0
            attempt.update(stoppedAt=at, container={"exitCode": code})
            attempt["statusReason"] = event.get("error") if failed else None
            status, reason = ("FAILED", str(event.get("error"))) if failed else ("SUCCEEDED", "")
    ordered = [attempts[n] for n in sorted(attempts)]
    raw = {
        "jobId": job_id,
        "jobName": None,
        "status": status,
        "statusReason": reason or "AWS Batch does not know this job; read from its log events",
        "createdAt": ordered[0]["startedAt"] if ordered else None,
        "startedAt": ordered[0]["startedAt"] if ordered else None,
        "stoppedAt": ordered[-1].get("stoppedAt") if status != "RUNNING" else None,
        "attempts": [a for a in ordered if "stoppedAt" in a],
        "container": {"command": command},
    }
    return BatchJob(raw)


def summary(job: BatchJob, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    raw = job.raw
    out: dict[str, Any] = {
        "jobId": job.job_id,
        "jobName": raw.get("jobName"),
        "status": job.status,
        "statusReason": raw.get("statusReason"),
        "task": job.task,
        "createdAt": _time(raw.get("createdAt")),
        "startedAt": _time(raw.get("startedAt")),
        "stoppedAt": _time(raw.get("stoppedAt")),
        "attempts": [
            {
                "exitCode": a.get("container", {}).get("exitCode"),
                "reason": a.get("container", {}).get("reason") or a.get("statusReason"),
                "startedAt": _time(a.get("startedAt")),
                "stoppedAt": _time(a.get("stoppedAt")),
            }
            for a in job.attempts
        ],
    }
    if job.array_size:
        out["array"] = {
            "size": job.array_size,
            "statusSummary": raw.get("arrayProperties", {}).get("statusSummary", {}),
            "progress": {k: _short(v) for k, v in documents.items()},
        }
    elif documents:
        out["progress"] = next(iter(documents.values()))
    return out


def render(info: dict[str, Any]) -> str:
    lines = [
        f"{info['jobName']} ({info['jobId']}): {info['status']}"
        + (f" - {info['statusReason']}" if info.get("statusReason") else ""),
        f"  task {info['task']}, created {info['createdAt']}, started {info['startedAt']}, "
        f"stopped {info['stoppedAt']}",
    ]
    for n, attempt in enumerate(info["attempts"], 1):
        lines.append(
            f"  attempt {n}: exit {attempt['exitCode']}, {attempt['startedAt']} -> "
            f"{attempt['stoppedAt']}" + (f" ({attempt['reason']})" if attempt["reason"] else "")
        )
    progress = info.get("progress")
    if progress:
        lines.append(f"  progress: {_short(progress)}")
    if "array" in info:
        counts = ", ".join(f"{k} {v}" for k, v in info["array"]["statusSummary"].items() if v)
        lines.append(f"  array of {info['array']['size']}: {counts or 'no children yet'}")
        for child, text in info["array"]["progress"].items():
            lines.append(f"    {child}: {text}")
    return "\n".join(lines)


def _short(event: dict[str, Any]) -> str:
    text = f"{event.get('status')} {float(event.get('progress') or 0):.0%}"
    if event.get("stage"):
        text += f" {event['stage']}"
    if event.get("message"):
        text += f": {event['message']}"
    if event.get("error"):
        text += f" ({event['error'].get('type')}: {event['error'].get('message')})"
    return text


def _json(message: str) -> dict[str, Any] | None:
    try:
        event = json.loads(message)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _ms(timestamp: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _time(millis: int | None) -> str | None:
    if not millis:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task status", description=__doc__)
    parser.add_argument("job_id", metavar="JOB_ID")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    ns = parser.parse_args(args)
    state = LocalState.from_env()
    recorded = state.read_job(ns.job_id)
    if recorded is not None:
        job = BatchJob(recorded)
        info = summary(job, local_progress(state, job))
    else:
        try:
            job = BatchJob.describe(aws.client("batch"), ns.job_id)
        except InputNotFound:
            from runtime.ops.joblogs import runtime_events

            found, _ = runtime_events(aws.client("logs"), ns.job_id, state)
            job = from_runtime_events(ns.job_id, found)
        url = job.environment.get("PROGRESS_URL") or os.environ.get("PROGRESS_URL")
        info = summary(job, progress_documents(job, url))
    print(json.dumps(info, indent=2) if ns.json else render(info))
    return 0
