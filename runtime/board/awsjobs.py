"""The jobs of AWS Batch queues, read with a bounded number of calls per refresh.

Each refresh lists every queue by status (ListJobs, paginated; array children are not rows),
then describes only the jobs that are new or whose listed status, reason or times changed,
plus unfinished array parents (their children's counts move while the parent does not), in
chunks of 100. Progress documents (PROGRESS_URL=s3://) are fetched for running jobs with
If-None-Match, so an unchanged document costs a 304. Log events are read only when asked for,
which the page does only for the log pane it has open.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from runtime.board.model import STATUSES, TERMINAL, array_size, is_child
from runtime.board.sources import Entry
from runtime.ops import joblogs
from runtime.ops.jobs import BatchJob

DESCRIBE_CHUNK = 100
LOG_POLL_SECONDS = 1.0
DESCRIBED_SECONDS = 2.0  # a job outside the listing (an array child) is described again after


@dataclass
class _Logs:
    events: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[tuple[str, str], str | None] = field(default_factory=dict)
    fetched: float = 0.0


class AwsSource:
    """Jobs of the given queues; boto3 clients are made once and shared by the threads."""

    def __init__(self, queues: list[str], interval: float = 5.0) -> None:
        import boto3

        self.queues = queues
        self.name = "aws"
        self.interval = interval
        self.calls: Counter[str] = Counter()
        self.batch = boto3.client("batch")
        self.logs_client = boto3.client("logs")
        self.s3 = boto3.client("s3")
        self._listed: dict[str, tuple[Any, ...]] = {}
        self._entries: dict[str, Entry] = {}
        self._progress: dict[str, tuple[str | None, dict[str, Any] | None, bool]] = {}
        self._logs: dict[str, _Logs] = {}
        self._described: dict[str, tuple[float, Entry]] = {}
        self._lock = threading.Lock()
        self._logs_lock = threading.Lock()

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self.calls[operation] += 1
        method = {
            "ListJobs": self.batch.list_jobs,
            "DescribeJobs": self.batch.describe_jobs,
            "TerminateJob": self.batch.terminate_job,
            "GetLogEvents": self.logs_client.get_log_events,
            "GetObject": self.s3.get_object,
        }[operation]
        return method(**kwargs)

    def refresh(self) -> dict[str, Entry]:
        listed: dict[str, tuple[tuple[Any, ...], str]] = {}
        for queue in self.queues:
            for status in STATUSES:
                request: dict[str, Any] = {"jobQueue": queue, "jobStatus": status}
                while True:
                    page = self._call("ListJobs", **request)
                    for row in page.get("jobSummaryList", []):
                        if not is_child(row["jobId"]):
                            listed[row["jobId"]] = (_listed_key(row), queue)
                    if not page.get("nextToken"):
                        break
                    request["nextToken"] = page["nextToken"]
        stale = [
            job_id
            for job_id, (key, _) in listed.items()
            if self._listed.get(job_id) != key or self._unfinished_array(job_id)
        ]
        described = self._describe(stale)
        entries: dict[str, Entry] = {}
        for job_id, (key, queue) in listed.items():
            raw = described.get(job_id) or (self._entries.get(job_id) or Entry({}, None, 0)).raw
            if not raw:
                continue
            progress = self._latest_progress(raw)
            entries[job_id] = Entry(raw, progress, (key, _version(raw), _seq(progress)), queue)
        self._listed = {job_id: key for job_id, (key, _) in listed.items()}
        with self._lock:
            self._entries = entries
        return entries

    def _unfinished_array(self, job_id: str) -> bool:
        entry = self._entries.get(job_id)
        return bool(entry and array_size(entry.raw) and entry.raw.get("status") not in TERMINAL)

    def _describe(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(job_ids), DESCRIBE_CHUNK):
            chunk = job_ids[start : start + DESCRIBE_CHUNK]
            for raw in self._call("DescribeJobs", jobs=chunk).get("jobs", []):
                found[raw["jobId"]] = raw
        return found

    def _latest_progress(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The job's progress document: fetched while it runs, and once more when it ends."""
        job_id = raw["jobId"]
        etag, document, final = self._progress.get(job_id, (None, None, False))
        status = raw.get("status")
        if final or array_size(raw) or status not in ("RUNNING", "STARTING", *TERMINAL):
            return document
        url = BatchJob(raw).environment.get("PROGRESS_URL") or os.environ.get("PROGRESS_URL")
        if not url or not url.startswith("s3://"):
            return None
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        key = f"{prefix.strip('/')}/{job_id}.json".lstrip("/")
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            request["IfNoneMatch"] = etag
        try:
            answer = self._call("GetObject", **request)
            document, etag = json.loads(answer["Body"].read()), answer.get("ETag")
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code not in ("304", "NotModified", "NoSuchKey", "404"):
                raise
        self._progress[job_id] = (etag, document, status in TERMINAL)
        return document

    def entry(self, job_id: str) -> Entry | None:
        with self._lock:
            known = self._entries.get(job_id)
        if known is not None:
            return known
        cached = self._described.get(job_id)
        if cached and (cached[1].raw.get("status") in TERMINAL or time.monotonic() < cached[0]):
            return cached[1]
        jobs = self._call("DescribeJobs", jobs=[job_id]).get("jobs", [])
        if not jobs:
            return None
        raw = jobs[0]
        entry = Entry(raw, self._latest_progress(raw), _version(raw))
        self._described[job_id] = (time.monotonic() + DESCRIBED_SECONDS, entry)
        return entry

    def logs(self, job_id: str) -> list[dict[str, Any]]:
        """The job's runtime events, fetching new ones at most once a second per job."""
        with self._logs_lock:  # two open pages of one job must not both append its events
            state = self._logs.setdefault(job_id, _Logs())
            if time.monotonic() - state.fetched < LOG_POLL_SECONDS:
                return list(state.events)
            entry = self.entry(job_id)
            if entry is None:
                return list(state.events)
            state.fetched = time.monotonic()
            for group, stream in joblogs.streams(BatchJob(entry.raw)):
                messages, state.tokens[(group, stream)] = self._stream(
                    group, stream, state.tokens.get((group, stream))
                )
                state.events.extend(_as_event(m) for m in messages)
            return list(state.events)

    def _stream(self, group: str, stream: str, token: str | None) -> tuple[list[str], str | None]:
        messages: list[str] = []
        while True:
            request: dict[str, Any] = {"logGroupName": group, "logStreamName": stream}
            request.update({"nextToken": token} if token else {"startFromHead": True})
            try:
                page = self._call("GetLogEvents", **request)
            except self.logs_client.exceptions.ResourceNotFoundException:
                return messages, token
            messages.extend(e["message"] for e in page["events"])
            following = page.get("nextForwardToken")
            if following in (None, token) or not page["events"]:
                return messages, following or token
            token = following

    def children(self, job_id: str) -> list[dict[str, Any]]:
        out = []
        for status in STATUSES:
            request: dict[str, Any] = {"arrayJobId": job_id, "jobStatus": status}
            while True:
                page = self._call("ListJobs", **request)
                for row in page.get("jobSummaryList", []):
                    index = (row.get("arrayProperties") or {}).get("index")
                    if index is None:
                        index = int(row["jobId"].rsplit(":", 1)[-1])
                    out.append({"job_id": row["jobId"], "index": index, "status": row["status"]})
                if not page.get("nextToken"):
                    break
                request["nextToken"] = page["nextToken"]
        return sorted(out, key=lambda c: c["index"])

    def terminate(self, job_id: str, reason: str) -> None:
        self._call("TerminateJob", jobId=job_id, reason=reason)


def _listed_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row.get("status"), row.get("statusReason"), row.get("startedAt"), row.get("stoppedAt"))


def _version(raw: dict[str, Any]) -> Any:
    props = raw.get("arrayProperties") or {}
    summary = tuple(sorted((props.get("statusSummary") or {}).items()))
    return (raw.get("status"), raw.get("statusReason"), raw.get("stoppedAt"), summary)


def _seq(progress: dict[str, Any] | None) -> Any:
    return (progress.get("attempt"), progress.get("sequence")) if progress else None


def _as_event(message: str) -> dict[str, Any]:
    try:
        event = json.loads(message)
    except json.JSONDecodeError:
        return {"message": message}
    return event if isinstance(event, dict) else {"message": message}
