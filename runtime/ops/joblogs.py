"""`batch-task logs JOB_ID [--follow]`: a job's events, readably, wherever they are.

A job `batch-task local` ran is read from the local state (BATCH_TASK_HOME). For an AWS job:
where it ran with the runtime's CloudWatch sink (CLOUDWATCH_LOG_GROUP in its environment), its
streams are named by the same template the sink used, one per attempt; otherwise the events
are read from Batch's own awslogs stream of each attempt. A job Batch does not know (one run
with `docker run`, or past Batch's retention) is searched for by its id in the runtime's own
log group, CLOUDWATCH_LOG_GROUP in this environment.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from runtime.errors import InputNotFound
from runtime.job import Job
from runtime.ops import aws
from runtime.ops.arguments import Parser
from runtime.ops.jobs import BatchJob
from runtime.simulator.state import LocalState, child_id

BATCH_GROUP = "/aws/batch/job"
POLL_SECONDS = 2.0
LOCAL_POLL_SECONDS = 0.5
ENDS = ("task.succeeded", "task.failed")
_SHOWN_ELSEWHERE = ("timestamp", "level", "event", "task", "job_id", "attempt", "logger")


def streams(job: BatchJob) -> list[tuple[str, str]]:
    """(group, stream) of every attempt so far, the current one last."""
    env = job.environment
    group = env.get("CLOUDWATCH_LOG_GROUP")
    if group:
        from runtime.sinks.cloudwatch import DEFAULT_STREAM, stream_name

        template = env.get("CLOUDWATCH_LOG_STREAM") or DEFAULT_STREAM
        attempts = max(1, len(job.attempts) + (0 if job.done else 1))
        task = job.task or "task"
        return [
            (group, stream_name(template, task=task, job=Job(job.job_id, attempt=n)))
            for n in range(1, attempts + 1)
        ]
    names = [a.get("container", {}).get("logStreamName") for a in job.attempts]
    names.append(job.raw.get("container", {}).get("logStreamName"))
    unique = list(dict.fromkeys(n for n in names if n))
    log_config = job.raw.get("container", {}).get("logConfiguration", {})
    batch_group = log_config.get("options", {}).get("awslogs-group", BATCH_GROUP)
    return [(batch_group, name) for name in unique]


def events(logs: Any, group: str, stream: str, token: str | None) -> tuple[list[str], str | None]:
    """New messages of one stream since `token`, and the token to continue from."""
    messages: list[str] = []
    while True:
        request: dict[str, Any] = {"logGroupName": group, "logStreamName": stream}
        request.update({"nextToken": token} if token else {"startFromHead": True})
        try:
            page = aws.call(logs.get_log_events, f"GetLogEvents({group} {stream})", **request)
        except InputNotFound:
            return messages, token
        messages.extend(e["message"] for e in page["events"])
        if page.get("nextForwardToken") in (None, token):
            return messages, token
        token = page["nextForwardToken"]
        if not page["events"]:
            return messages, token


def render(message: str) -> str:
    """One event as a person reads it: time, level, event, then its own keys."""
    try:
        event = json.loads(message)
    except json.JSONDecodeError:
        return message
    return render_event(event) if isinstance(event, dict) else message


def render_event(event: dict[str, Any]) -> str:
    extra = " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
        for k, v in event.items()
        if k not in _SHOWN_ELSEWHERE and k != "exception"
    )
    line = f"{event.get('timestamp', '')} {event.get('level', ''):<7} {event.get('event', '')}"
    line = f"{line}  {extra}" if extra else line
    if event.get("exception"):
        line += "\n" + str(event["exception"]).rstrip()
    return line


def follow(batch: Any, logs: Any, job_id: str, keep_going: bool) -> Iterator[str]:
    """Yield rendered events; with `keep_going`, until the job ends and its streams are read."""
    tokens: dict[tuple[str, str], str | None] = {}
    while True:
        job = BatchJob.describe(batch, job_id)
        for key in streams(job):
            messages, tokens[key] = events(logs, *key, tokens.get(key))
            yield from map(render, messages)
        if not keep_going or job.done:
            return
        time.sleep(POLL_SECONDS)


def follow_local(state: LocalState, job_id: str, keep_going: bool) -> Iterator[str]:
    """A local job's events (an array job's: each child's in index order); with `keep_going`,
    until the job ends. Its document is read before its logs, and a job's lines are written
    before it ends, so nothing is missed after the end is seen."""
    offsets: dict[str, int] = {}
    while True:
        job = state.read_job(job_id) or {}
        size = int((job.get("arrayProperties") or {}).get("size") or 0)
        for jid in [child_id(job_id, i) for i in range(size)] if size else [job_id]:
            found, offsets[jid] = state.read_logs(jid, offsets.get(jid, 0))
            yield from map(render_event, found)
        if not keep_going or job.get("status") in ("SUCCEEDED", "FAILED"):
            return
        time.sleep(LOCAL_POLL_SECONDS)


def search_group(logs: Any, group: str, job_id: str, start: int = 0) -> list[dict[str, Any]]:
    """The runtime's events of `job_id` in `group` from `start` (epoch ms), oldest first.

    FilterLogEvents finds the messages that name the id; the job's own are those whose
    `job_id` is it (or, for a line that is not JSON, whose stream is named after it).
    """
    request: dict[str, Any] = {
        "logGroupName": group,
        "filterPattern": json.dumps(job_id),
        "startTime": start,
    }
    found: list[dict[str, Any]] = []
    while True:
        page = aws.call(logs.filter_log_events, f"FilterLogEvents({group})", **request)
        found.extend(e for e in page.get("events", []) if _belongs(e, job_id))
        if not page.get("nextToken"):
            return sorted(found, key=lambda e: (e["timestamp"], e.get("eventId", "")))
        request["nextToken"] = page["nextToken"]


def follow_group(
    logs: Any, group: str, job_id: str, first: list[dict[str, Any]], keep_going: bool
) -> Iterator[str]:
    """Events found by `search_group`; with `keep_going`, new ones until the task ends."""
    seen: set[str] = set()
    batch, last, ended = first, 0, False
    while True:
        fresh = [e for e in batch if e.get("eventId") not in seen]
        seen.update(e.get("eventId", "") for e in fresh)
        yield from (render(e["message"]) for e in fresh)
        last = max([last, *(e["timestamp"] for e in fresh)])
        ended = ended or _ended(fresh)
        if not keep_going or ended:
            return
        time.sleep(POLL_SECONDS)
        batch = search_group(logs, group, job_id, last)


def job_lines(job_id: str, keep_going: bool) -> Iterable[str]:
    """The job's rendered events from wherever it is; InputNotFound (66) when nowhere."""
    state = LocalState.from_env()
    if state.read_job(job_id) is not None:
        return follow_local(state, job_id, keep_going)
    batch, logs = aws.client("batch"), aws.client("logs")
    try:
        BatchJob.describe(batch, job_id)
    except InputNotFound:
        found, group = runtime_events(logs, job_id, state)
        return follow_group(logs, group, job_id, found, keep_going)
    return follow(batch, logs, job_id, keep_going)


def runtime_events(logs: Any, job_id: str, state: LocalState) -> tuple[list[dict[str, Any]], str]:
    """The events of a job neither the local state nor Batch knows, from the runtime's group."""
    where = f"job {job_id!r} is not a local job (in {state.jobs_dir}) and AWS Batch has no such job"
    group = os.environ.get("CLOUDWATCH_LOG_GROUP", "").strip()
    if not group:
        raise InputNotFound(
            f"{where}; set CLOUDWATCH_LOG_GROUP to the runtime's log group to search it too"
        )
    found = search_group(logs, group, job_id)
    if not found:
        raise InputNotFound(f"{where}, and log group {group!r} has no events of it")
    return found, group


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task logs", description=__doc__)
    parser.add_argument("job_id", metavar="JOB_ID")
    parser.add_argument("--follow", "-f", action="store_true", help="follow until the job ends")
    ns = parser.parse_args(args)
    for line in job_lines(ns.job_id, ns.follow):
        print(line, flush=True)
    return 0


def _belongs(event: dict[str, Any], job_id: str) -> bool:
    try:
        message = json.loads(event["message"])
    except ValueError:
        message = None
    if isinstance(message, dict) and "job_id" in message:
        return message["job_id"] == job_id
    return job_id.replace(":", "-") in str(event.get("logStreamName", "")).split("/")


def _ended(events: list[dict[str, Any]]) -> bool:
    for event in reversed(events):
        try:
            name = json.loads(event["message"]).get("event")
        except (ValueError, AttributeError):
            continue
        return name in ENDS
    return False
