"""Progress events from the real CLI, delivered to a real HTTP server and to moto's S3."""

from __future__ import annotations

import itertools
import json
import signal
import time
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import (
    Run,
    base_env,
    free_port,
    run_cli,
    signal_and_collect,
    start_cli,
    wait_for_event,
)
from tests.fixtures.progress_http import ProgressServer, Reply

TOKEN = "progress-token-0123456789"
KEYS = [
    "job_id",
    "attempt",
    "array_index",
    "task",
    "status",
    "progress",
    "stage",
    "message",
    "sequence",
    "timestamp",
    "elapsed_seconds",
    "result",
    "error",
]
EXIT_BUDGET = 5.0


def progress_env(url: str, **extra: str) -> dict[str, str]:
    defaults = {"PROGRESS_TOKEN": TOKEN, "AWS_BATCH_JOB_ID": "job-42", "AWS_BATCH_JOB_ATTEMPT": "2"}
    return base_env(PROGRESS_URL=url, **{**defaults, **extra})


def assert_well_ordered(events: list[dict[str, Any]], final: str) -> None:
    """STARTING, RUNNING..., one final event; sequence up by one, progress never down."""
    statuses = [e["status"] for e in events]
    assert statuses[0] == "STARTING", statuses
    assert statuses[-1] == final, statuses
    assert set(statuses[1:-1]) <= {"RUNNING"}, statuses
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), progress
    assert all(0.0 <= p <= 1.0 for p in progress)
    assert all(list(e) == KEYS for e in events)


def seconds_after(run: Run, event: str, exited: float) -> float:
    """Seconds from a log event's timestamp to the process's exit, on the wall clock."""
    stamp = datetime.fromisoformat(run.one(event)["timestamp"].replace("Z", "+00:00"))
    return exited - stamp.timestamp()


def test_events_reach_the_endpoint_in_order_with_the_token(
    progress_http: ProgressServer,
) -> None:
    run = run_cli(
        ["echo", "--steps", "4", "--delay", "0.4"],
        progress_env(progress_http.url, AWS_BATCH_JOB_ARRAY_INDEX="3"),
    )

    assert run.returncode == 0, run.stderr
    events = progress_http.accepted()
    assert_well_ordered(events, "SUCCEEDED")
    assert len(events) >= 4
    final = events[-1]
    assert final["progress"] == 1.0
    assert final["result"] == run.one("task.succeeded")["result"]
    assert final["error"] is None
    assert (final["job_id"], final["attempt"], final["array_index"]) == ("job-42", 2, 3)
    assert events[-2]["message"] == "step 4 of 4"
    for request in progress_http.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.path == "/progress"
    assert TOKEN not in run.stdout + run.stderr


def test_no_authorization_header_without_a_token(progress_http: ProgressServer) -> None:
    env = progress_env(progress_http.url)
    del env["PROGRESS_TOKEN"]
    run = run_cli(["echo", "--steps", "1"], env)

    assert run.returncode == 0, run.stderr
    assert progress_http.requests
    assert all("Authorization" not in r.headers for r in progress_http.requests)


def test_many_fast_updates_send_about_one_running_event_a_second(
    progress_http: ProgressServer,
) -> None:
    run = run_cli(["echo", "--steps", "1500", "--delay", "0.001"], progress_env(progress_http.url))

    assert run.returncode == 0, run.stderr
    events = progress_http.accepted()
    assert_well_ordered(events, "SUCCEEDED")
    running = [e for e in events if e["status"] == "RUNNING"]
    duration = run.one("task.succeeded")["duration_seconds"]
    assert 2 <= len(running) <= duration + 2, [e["elapsed_seconds"] for e in running]
    throttled = [e["elapsed_seconds"] for e in running[:-1]]
    gaps = [b - a for a, b in itertools.pairwise(throttled)]
    assert all(gap >= 0.95 for gap in gaps), gaps
    assert running[-1]["progress"] == 1.0
    assert running[-1]["message"] == "step 1500 of 1500"


def test_sigterm_sends_a_final_failed_event(progress_http: ProgressServer) -> None:
    proc = start_cli(["echo", "--steps", "2", "--delay", "60"], progress_env(progress_http.url))
    before = wait_for_event(proc, "echo")
    progress_http.wait_for(lambda: len(progress_http.accepted()) >= 1)
    run = signal_and_collect(proc, signal.SIGTERM, before)

    assert run.returncode == 143, run.stderr
    events = progress_http.accepted()
    assert_well_ordered(events, "FAILED")
    assert events[-1]["error"] == {
        "type": "Interrupted",
        "message": "received SIGTERM",
        "exit_code": 143,
        "retryable": True,
    }


def test_a_crash_sends_a_final_failed_event(progress_http: ProgressServer) -> None:
    run = run_cli(["fail", "--kind", "bug"], progress_env(progress_http.url))

    assert run.returncode == 70, run.stderr
    events = progress_http.accepted()
    assert [e["status"] for e in events] == ["STARTING", "FAILED"]
    error = events[-1]["error"]
    assert (error["type"], error["exit_code"], error["retryable"]) == (
        "ZeroDivisionError",
        70,
        False,
    )
    assert "division by zero" in error["message"]


def test_the_timeout_sends_a_final_failed_event(progress_http: ProgressServer) -> None:
    run = run_cli(
        ["echo", "--steps", "1", "--delay", "60"],
        progress_env(progress_http.url, TASK_TIMEOUT="0.5"),
    )

    assert run.returncode == 124, run.stderr
    events = progress_http.accepted()
    assert_well_ordered(events, "FAILED")
    assert events[-1]["error"]["type"] == "Timeout"
    assert events[-1]["error"]["exit_code"] == 124


def test_retries_server_errors_and_honours_retry_after(progress_http: ProgressServer) -> None:
    progress_http.answer(Reply(500), Reply(429, retry_after="1"))
    run = run_cli(["echo", "--steps", "2", "--delay", "0.2"], progress_env(progress_http.url))

    assert run.returncode == 0, run.stderr
    first, second, third = progress_http.requests[:3]
    assert [r.status for r in (first, second, third)] == [500, 429, 200]
    assert first.body == second.body == third.body
    assert third.received - second.received >= 1.0
    assert_well_ordered(progress_http.accepted(), "SUCCEEDED")
    assert len(run.named("progress.retrying")) == 1


def test_a_refusal_stops_delivery_with_one_warning(progress_http: ProgressServer) -> None:
    progress_http.always(Reply(401))
    run = run_cli(["echo", "--steps", "3", "--delay", "0.5"], progress_env(progress_http.url))

    assert run.returncode == 0, run.stderr
    assert len(progress_http.requests) == 1
    warning = run.one("progress.rejected")
    assert warning["level"] == "warning"
    assert "401" in warning["reason"]
    assert warning["target"] == progress_http.url.removesuffix("/progress")
    assert TOKEN not in run.stdout + run.stderr


@pytest.mark.parametrize("endpoint", ["closed port", "hanging"])
def test_a_dead_endpoint_costs_at_most_the_exit_budget(
    progress_http: ProgressServer, endpoint: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook/secret-path"
    if endpoint == "hanging":
        progress_http.always(Reply(hang=30))
        url = progress_http.url.replace("/progress", "/hook/secret-path")
    run = run_cli(["echo", "--steps", "20000", "--delay", "0"], progress_env(url))
    exited = time.time()

    assert run.returncode == 0, run.stderr
    assert run.one("task.succeeded")["duration_seconds"] < 3
    assert seconds_after(run, "task.succeeded", exited) < EXIT_BUDGET + 1
    assert run.one("progress.undelivered")["target"] == url.split("/hook")[0]
    assert "secret-path" not in run.stdout
    retrying = run.named("progress.retrying")
    assert len(retrying) == 1 if endpoint == "closed port" else len(retrying) <= 1
    assert len(run.named("task.progress")) <= 4


def test_s3_holds_the_latest_event_per_array_child(
    s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    env = progress_env(
        f"s3://{bucket}/progress/",
        AWS_BATCH_JOB_ID="job-7:3",
        AWS_BATCH_JOB_ARRAY_INDEX="3",
        **aws_env,
    )
    run = run_cli(["echo", "--steps", "3", "--delay", "0.1"], env)

    assert run.returncode == 0, run.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["progress/job-7:3.json"]
    obj = s3.get_object(Bucket=bucket, Key="progress/job-7:3.json")
    assert obj["ContentType"] == "application/json"
    document = json.loads(obj["Body"].read())
    assert list(document) == KEYS
    assert (document["status"], document["progress"]) == ("SUCCEEDED", 1.0)
    assert (document["job_id"], document["array_index"]) == ("job-7:3", 3)
    assert document["result"] == run.one("task.succeeded")["result"]
    assert document["sequence"] >= 3
    assert not run.named("progress.retrying") and not run.named("progress.rejected")


def test_s3_failure_is_a_final_document_too(s3: Any, bucket: str, aws_env: dict[str, str]) -> None:
    env = progress_env(f"s3://{bucket}/p", **aws_env)
    run = run_cli(["fail", "--kind", "transient"], env)

    assert run.returncode == 75, run.stderr
    document = json.loads(s3.get_object(Bucket=bucket, Key="p/job-42.json")["Body"].read())
    assert document["status"] == "FAILED"
    assert document["error"]["retryable"] is True


def test_a_missing_bucket_is_one_warning_not_a_failure(aws_env: dict[str, str]) -> None:
    env = progress_env("s3://no-such-bucket-for-progress/p", **aws_env)
    run = run_cli(["echo", "--steps", "2"], env)

    assert run.returncode == 0, run.stderr
    assert "NoSuchBucket" in run.one("progress.rejected")["reason"]


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://example.com/x", "unknown scheme ('ftp')"),
        ("example.com/progress", "unknown scheme (none)"),
        ("https:///path", "needs a host"),
        ("s3:///prefix", "no bucket"),
        ("https://example.com/a b", "spaces or control characters"),
    ],
)
def test_a_bad_progress_url_is_a_usage_error(url: str, complaint: str) -> None:
    run = run_cli(["echo", "--steps", "1"], progress_env(url))

    assert run.returncode == 64
    error = run.one("task.failed")["error"]
    assert "PROGRESS_URL" in error
    assert complaint in error
    assert url not in run.stdout + run.stderr
    assert not run.named("task.started")


def test_a_token_a_header_cannot_carry_is_a_usage_error(progress_http: ProgressServer) -> None:
    env = progress_env(progress_http.url, PROGRESS_TOKEN="line one\nline two")
    run = run_cli(["echo", "--steps", "1"], env)

    assert run.returncode == 64
    assert "PROGRESS_TOKEN contains spaces or control characters" in run.one("task.failed")["error"]
    assert "line one" not in run.stdout + run.stderr
    assert not progress_http.requests
