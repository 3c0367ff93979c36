"""The board's JSON API and events stream against moto's Batch and S3, through a real board.

moto runs no container here (FINDINGS): its jobs fail within a second and an array parent
keeps its children's counts in `arrayProperties.statusSummary`. So these tests check what the
board makes of what Batch says: rows, children counts, filters, masking, progress, events.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from tests.conftest import base_env, batch_queue

SECRET = "s3cr3t-token-value"
HIDDEN = "mystery-hidden-value"
RUN_ID = "nightly-20261130T000000-beef"
LOG_GROUP = "/batch-task/board-tests"
ROW_KEYS = {
    "job_id", "name", "status", "queue", "created_at", "started_at", "stopped_at",
    "progress", "stage", "array_size", "run_id", "children",
}  # fmt: skip
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def get(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def eventually(probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def aws_jobs(
    aws_env: dict[str, str], bucket: str, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """A fresh queue with a plain job, an array of 4, a workflow's job and an unknown task's."""
    batch = boto3.client("batch")
    suffix = f"{abs(hash(request.node.nodeid)) % 10**8}-{time.monotonic_ns() % 10**6}"
    queue = batch_queue(f"board-q-{suffix}")
    env = [
        {"name": "PROGRESS_URL", "value": f"s3://{bucket}/progress"},
        {"name": "CLOUDWATCH_LOG_GROUP", "value": LOG_GROUP},
    ]
    typed = batch.register_job_definition(
        jobDefinitionName=f"typed-{suffix}",
        type="container",
        parameters={"name": "alpha", "token": ""},
        containerProperties={
            "image": "batch-task:test",
            "command": ["typed", "--name", "Ref::name", "--token", "Ref::token"],
            "environment": env,
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )["jobDefinitionArn"]
    mystery = batch.register_job_definition(
        jobDefinitionName=f"mystery-{suffix}",
        type="container",
        containerProperties={
            "image": "batch-task:test",
            "command": ["mystery", "--key", "Ref::key"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )["jobDefinitionArn"]
    submit = batch.submit_job
    single = submit(jobName="single-one", jobQueue=queue, jobDefinition=typed,
                    parameters={"name": "alpha", "token": SECRET})["jobId"]  # fmt: skip
    array = submit(jobName="array-one", jobQueue=queue, jobDefinition=typed,
                   arrayProperties={"size": 4})["jobId"]  # fmt: skip
    member = submit(jobName="flow-node", jobQueue=queue, jobDefinition=typed,
                    parameters={"token": SECRET},
                    tags={"batch-task:run-id": RUN_ID})["jobId"]  # fmt: skip
    unknown = submit(jobName="mystery-one", jobQueue=queue, jobDefinition=mystery,
                     parameters={"key": HIDDEN})["jobId"]  # fmt: skip
    progress = {
        "job_id": single, "attempt": 1, "array_index": None, "task": "typed", "status": "RUNNING",
        "progress": 0.42, "stage": "convert", "message": f"using {SECRET} now", "sequence": 7,
        "timestamp": "2026-11-30T00:00:00.123Z", "elapsed_seconds": 1.5, "result": None,
        "error": None,
    }  # fmt: skip
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=f"progress/{single}.json", Body=json.dumps(progress))
    write_logs(single)
    record = {
        "run_id": RUN_ID, "workflow": "nightly", "inputs": {"token": SECRET},
        "created_at": "2026-11-30T00:00:00.000Z",
        "nodes": {"only": {"job_id": member, "array_size": None, "depends_on": [],
                           "status": "SUBMITTED", "status_reason": None, "children": {}}},
        "barriers": [],
    }  # fmt: skip
    s3.put_object(Bucket=bucket, Key=f"runs/{RUN_ID}/run.json", Body=json.dumps(record))
    return {"queue": queue, "bucket": bucket, "single": single, "array": array,
            "member": member, "unknown": unknown, "env": base_env(**aws_env)}  # fmt: skip


def write_logs(job_id: str) -> None:
    """The runtime's CloudWatch stream of the job's first attempt, as its sink names it."""
    logs = boto3.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=LOG_GROUP)
    stream = f"typed/{job_id}/1"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    base = {"logger": "runtime", "task": "typed", "job_id": job_id, "attempt": 1}
    events = [
        {"event": "task.started", "level": "info", "params": {"name": "alpha", "token": "***"}},
        {"event": "typed.seen", "level": "info", "token_echo": SECRET},
        {"event": "task.failed", "level": "error", "error_type": "InputError",
         "error": "no such scene", "exit_code": 65, "retryable": False},
    ]  # fmt: skip
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now + i, "message": json.dumps({**base, **e, "timestamp": "x"})}
            for i, e in enumerate(events)
        ],
    )


@pytest.fixture
def board(aws_jobs: dict[str, Any], board_server: Any, tmp_path: Any) -> str:
    env = {**aws_jobs["env"], "BATCH_TASK_HOME": str(tmp_path / "home")}
    state = f"s3://{aws_jobs['bucket']}/runs"
    url = board_server(["--queue", aws_jobs["queue"], "--interval", "0.5", "--state", state], env)
    eventually(lambda: len(get(f"{url}/api/jobs")) == 4, "the four jobs are listed")
    return url


def test_rows_are_summaries_with_children_counts_and_no_child_rows(
    board: str, aws_jobs: dict[str, Any]
) -> None:
    rows = {r["job_id"]: r for r in get(f"{board}/api/jobs")}
    assert set(rows) == {aws_jobs[k] for k in ("single", "array", "member", "unknown")}
    for row in rows.values():
        assert set(row) == ROW_KEYS
        assert row["queue"] == aws_jobs["queue"]
        assert TIME.match(row["created_at"])
    array = eventually(
        lambda: (r := get(f"{board}/api/jobs/{aws_jobs['array']}"))["children"] and r,
        "the array's children are counted",
    )
    assert array["array_size"] == 4 and sum(array["children"].values()) == 4
    assert (
        rows[aws_jobs["single"]]["children"] == {}
        and rows[aws_jobs["single"]]["array_size"] is None
    )
    assert rows[aws_jobs["member"]]["run_id"] == RUN_ID
    children = get(f"{board}/api/jobs/{aws_jobs['array']}/children")
    assert [c["index"] for c in children] == [0, 1, 2, 3]
    assert {c["job_id"] for c in children} == {f"{aws_jobs['array']}:{i}" for i in range(4)}
    created = [r["created_at"] for r in get(f"{board}/api/jobs")]
    assert created == sorted(created, reverse=True)


def test_filters_by_status_queue_and_text(board: str, aws_jobs: dict[str, Any]) -> None:
    everything = get(f"{board}/api/jobs")
    for status in {r["status"] for r in everything}:
        found = get(f"{board}/api/jobs?status={status}")
        assert found and all(r["status"] == status for r in found)
    assert [r["job_id"] for r in get(f"{board}/api/jobs?q=ARRAY-O")] == [aws_jobs["array"]]
    assert [r["job_id"] for r in get(f"{board}/api/jobs?q=beef")] == [aws_jobs["member"]]
    assert len(get(f"{board}/api/jobs?q={aws_jobs['single'][:13]}")) >= 1
    assert len(get(f"{board}/api/jobs?queue={aws_jobs['queue']}")) == 4
    assert get(f"{board}/api/jobs?queue=another-queue") == []


def test_secrets_never_leave_the_board(board: str, aws_jobs: dict[str, Any]) -> None:
    single = eventually(
        lambda: (d := get(f"{board}/api/jobs/{aws_jobs['single']}"))["last_progress"] and d,
        "the progress document is read",
    )
    assert single["parameters"]["token"] == "***" and single["parameters"]["name"] == "alpha"
    assert single["command"][single["command"].index("--token") + 1] == "***"
    assert single["last_progress"]["message"] == "using *** now"
    assert (single["progress"], single["stage"]) == (0.42, "convert")
    unknown = get(f"{board}/api/jobs/{aws_jobs['unknown']}")
    assert unknown["parameters"] == {"key": "***"}
    assert unknown["command"] == ["mystery", "--key", "***"]
    pages = [f"/api/jobs/{aws_jobs[k]}" for k in ("single", "unknown", "array")]
    eventually(lambda: get(f"{board}/api/runs"), "the run record is read")
    runs = ["/api/runs", f"/api/runs/{RUN_ID}"]
    for path in ["/api/jobs", *pages, *(p + "/logs" for p in pages), *runs]:
        text = json.dumps(get(f"{board}{path}"))
        assert SECRET not in text and HIDDEN not in text, path
    last = get(f"{board}/api/stats")["last_event_id"]
    stream = read_events(board, str(last - 4), count=4)
    assert [int(e["id"]) for e in stream] == list(range(last - 3, last + 1))
    assert SECRET not in json.dumps(stream) and HIDDEN not in json.dumps(stream)


def read_events(board: str, last_id: str | None, count: int) -> list[dict[str, Any]]:
    """Read `count` events from /events (optionally resuming after `last_id`)."""
    parts = urlsplit(board)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/events", headers={"Last-Event-ID": last_id} if last_id else {})
    answer = conn.getresponse()
    assert answer.getheader("Content-Type") == "text/event-stream"
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    while len(events) < count:
        line = answer.fp.readline().decode().rstrip("\n")
        if not line:
            if "data" in current:
                events.append(current)
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = json.loads(value) if key == "data" else value
    conn.close()
    return events


def test_events_carry_ids_and_replay_from_last_event_id(
    board: str, aws_jobs: dict[str, Any]
) -> None:
    replayed = read_events(board, "0", count=1)
    assert replayed == [{"id": replayed[0]["id"], "event": "reset", "data": {}}]
    first = int(replayed[0]["id"])
    batch = boto3.client("batch")
    job_id = batch.submit_job(
        jobName="late-one",
        jobQueue=aws_jobs["queue"],
        jobDefinition=f"typed-{aws_jobs['queue'][8:]}",
    )["jobId"]
    events = read_events(board, str(first), count=1)
    assert all(int(e["id"]) > first for e in events)
    seen: list[dict[str, Any]] = []
    last = str(first)
    while not any(e["event"] == "job" and e["data"]["job_id"] == job_id for e in seen):
        more = read_events(board, last, count=1)
        seen += more
        last = more[-1]["id"]
    row = next(e["data"] for e in seen if e["event"] == "job" and e["data"]["job_id"] == job_id)
    assert set(row) == ROW_KEYS and row["name"] == "late-one"


def test_runs_come_from_the_state_and_follow_their_jobs(
    board: str, aws_jobs: dict[str, Any]
) -> None:
    runs = eventually(lambda: get(f"{board}/api/runs"), "the run record is read")
    assert [r["run_id"] for r in runs] == [RUN_ID]
    node = get(f"{board}/api/runs/{RUN_ID}")["nodes"]["only"]
    member = get(f"{board}/api/jobs/{aws_jobs['member']}")
    assert node["job_id"] == member["job_id"] and node["status"] == member["status"]


def test_read_only_and_answers_only_to_this_machine(board: str, aws_jobs: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{board}/api/jobs/{aws_jobs['single']}/terminate", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as foreign:
        get(f"{board}/api/jobs", headers={"Host": "board.example.com"})
    assert foreign.value.code == 403


def test_aws_calls_per_refresh_are_list_jobs_per_status(
    board: str, aws_jobs: dict[str, Any]
) -> None:
    def counts() -> tuple[int, int, int]:
        """Refreshes and the calls made up to the end of the last one, read together."""
        settled = get(f"{board}/api/stats")["settled"]["aws"]
        calls = settled["calls"]
        return settled["refreshes"], calls["ListJobs"], calls.get("DescribeJobs", 0)

    first = counts()
    eventually(lambda: counts()[0] >= first[0] + 4, "four more refreshes")
    last = counts()
    refreshes = last[0] - first[0]
    assert last[1] - first[1] == 7 * refreshes
    # only the unfinished array parent is described again; moto never finishes it
    assert last[2] - first[2] <= refreshes + 1


def test_log_events_come_from_the_runtime_stream_with_the_error_shown_plainly(
    board: str, aws_jobs: dict[str, Any]
) -> None:
    events = get(f"{board}/api/jobs/{aws_jobs['single']}/logs")
    assert [e["event"] for e in events] == ["task.started", "typed.seen", "task.failed"]
    assert events[1]["token_echo"] == "***"
    assert get(f"{board}/api/jobs/{aws_jobs['single']}/logs?since=2") == events[2:]
    detail = get(f"{board}/api/jobs/{aws_jobs['single']}")
    assert detail["error"] == {
        "type": "InputError", "message": "no such scene", "exit_code": 65, "retryable": False,
    }  # fmt: skip
    assert detail["parameters"] == {"name": "alpha", "token": "***"}


def test_terminate_needs_the_flag_and_a_confirmation(
    aws_jobs: dict[str, Any], board_server: Any, tmp_path: Any
) -> None:
    env = {**aws_jobs["env"], "BATCH_TASK_HOME": str(tmp_path / "home")}
    url = board_server(
        ["--queue", aws_jobs["queue"], "--interval", "0.5", "--allow-terminate"], env
    )
    job_id = aws_jobs["single"]
    eventually(lambda: get(f"{url}/api/jobs?q={job_id}"), "the job is listed")

    def post(headers: dict[str, str], body: dict[str, str]) -> int:
        request = urllib.request.Request(
            f"{url}/api/jobs/{job_id}/terminate",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)

    assert post({}, {"confirm": job_id}) == 400
    assert post({"X-Board-Confirm": job_id}, {}) == 400
    assert post({"X-Board-Confirm": job_id}, {"confirm": job_id}) == 202
    assert get(f"{url}/api/stats")["calls"]["aws"]["TerminateJob"] == 1
