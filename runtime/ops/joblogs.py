"""`batch-task logs JOB_ID [--follow]`: a job's events from CloudWatch Logs, readably.

Where the job ran with the runtime's CloudWatch sink (CLOUDWATCH_LOG_GROUP in its
environment), its streams are named by the same template the sink used, one per attempt.
Otherwise the events are read from Batch's own awslogs stream of each attempt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from runtime.errors import InputNotFound
from runtime.job import Job
from runtime.ops import aws
from runtime.ops.arguments import Parser
from runtime.ops.jobs import BatchJob

BATCH_GROUP = "/aws/batch/job"
POLL_SECONDS = 2.0
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
    if not isinstance(event, dict):
        return message
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


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task logs", description=__doc__)
    parser.add_argument("job_id", metavar="JOB_ID")
    parser.add_argument("--follow", "-f", action="store_true", help="follow until the job ends")
    ns = parser.parse_args(args)
    batch, logs = aws.client("batch"), aws.client("logs")
    for line in follow(batch, logs, ns.job_id, ns.follow):
        print(line, flush=True)
    return 0
