"""The CloudWatch Logs sink against moto's server: every event, in order, with its own time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from runtime.job import Job
from runtime.sinks import Record, cloudwatch
from runtime.sinks.queue import QueuedSink
from tests.conftest import ROOT, base_env, run_cli
from tests.fixtures.rsyslog import Rsyslog
from tests.fixtures.syslog import BUDGET, records


def group_name() -> str:
    return f"/batch-task/test-{uuid.uuid4().hex[:8]}"


def log_events(group: str, stream: str) -> list[dict[str, Any]]:
    """Every event of the stream, following GetLogEvents' tokens until they stop moving."""
    logs = boto3.client("logs")
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = logs.get_log_events(
            logGroupName=group,
            logStreamName=stream,
            startFromHead=True,
            **({"nextToken": token} if token else {}),
        )
        events += page["events"]
        if page["nextForwardToken"] == token:
            return events
        token = page["nextForwardToken"]


def stdout_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("{")]


def sink_to(group: str, stream: str) -> QueuedSink:
    """A CloudWatch sink as the runtime makes it, writing to `stream` of `group`."""
    env = {"CLOUDWATCH_LOG_GROUP": group, "CLOUDWATCH_LOG_STREAM": stream}
    return cloudwatch.from_env(env, task="t", job=Job("j"))


def test_every_event_arrives_in_order_with_its_timestamp(aws_env: dict[str, str]) -> None:
    group = group_name()
    sink = sink_to(group, "every")
    sent = records(20_000)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0, sink.error
    events = log_events(group, "every")
    assert [e["message"] for e in events] == [record.line for record in sent]
    assert [e["timestamp"] for e in events] == [record.millis for record in sent]


def test_timestamps_never_go_back(aws_env: dict[str, str]) -> None:
    """Two threads can render a millisecond out of order; PutLogEvents would refuse that."""
    group = group_name()
    sink = sink_to(group, "order")
    now = int(time.time())
    for when in (now + 0.010, now + 0.009, now + 0.011):
        sink.emit(Record("{}", when, "info"))
    assert sink.close(5.0) == 0, sink.error
    stamps = [e["timestamp"] - now * 1000 for e in log_events(group, "order")]
    assert stamps == [10, 10, 11]


def test_a_run_reaches_cloudwatch_as_stdout_has_it(aws_env: dict[str, str]) -> None:
    group = group_name()
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="4f1c2a:7",
        AWS_BATCH_JOB_ATTEMPT="2",
    )
    run = run_cli(["chatty", "--count", "2000"], env)
    assert run.returncode == 0, run.stderr
    assert not run.named("log.events_dropped")
    events = log_events(group, "chatty/4f1c2a-7/2")
    assert [e["message"] for e in events] == stdout_lines(run.stdout)


def test_stream_template_is_filled_and_sanitised(aws_env: dict[str, str]) -> None:
    group = group_name()
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        CLOUDWATCH_LOG_STREAM="jobs/{task}/{job_id}*{array_index}",
        AWS_BATCH_JOB_ID="parent:4",
        AWS_BATCH_JOB_ARRAY_INDEX="4",
    )
    run = run_cli(["typed", "--name", "x"], env)
    assert run.returncode == 0, run.stderr
    events = log_events(group, "jobs/typed/parent-4-4")
    assert [e["message"] for e in events] == stdout_lines(run.stdout)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLOUDWATCH_LOG_STREAM", "{task}/{nope}"),
        ("CLOUDWATCH_LOG_STREAM", "{task"),
        ("CLOUDWATCH_LOG_STREAM", "{0}"),
        ("CLOUDWATCH_LOG_GROUP", "bad group!"),
    ],
)
def test_bad_names_are_usage_errors(aws_env: dict[str, str], name: str, value: str) -> None:
    env = base_env(**aws_env, CLOUDWATCH_LOG_GROUP="/batch-task/ok")
    env[name] = value
    run = run_cli(["typed", "--name", "x"], env)
    assert run.returncode == 64
    assert name in run.one("task.failed")["error"]
    assert not run.named("task.started")


def test_oversized_event_is_cut_with_a_marker_and_stays_json(aws_env: dict[str, str]) -> None:
    group = group_name()
    sink = sink_to(group, "big")
    lines = [
        json.dumps({"timestamp": "t", "event": "chatty.line", "job_id": "big", "payload": p})
        for p in ("x" * 300_000, "y" * 300_000, "small")
    ]
    for line in lines:
        sink.emit(Record(line, time.time(), "info"))
    assert sink.close(5.0) == 0, sink.error
    messages = [e["message"] for e in log_events(group, "big")]
    assert len(messages) == 3
    for line, message in zip(lines[:2], messages[:2], strict=True):
        assert len(message.encode()) <= 256 * 1024 - 26
        event = json.loads(message)
        assert (event["event"], event["job_id"]) == ("chatty.line", "big")
        assert event["truncated_from_bytes"] > 300_000
        assert event["head"].startswith(line[:100])
        assert len(event["head"]) > 200_000
    assert messages[2] == lines[2]


def test_secrets_reach_no_sink_at_any_level(
    aws_env: dict[str, str], rsyslog: Rsyslog, tls_ca: tuple[Any, Path]
) -> None:
    group = group_name()
    secrets = {
        "token": "param-secret-0123",
        "PROGRESS_TOKEN": "progress-secret-4567",
        "AWS_SESSION_TOKEN": "session-secret-89ab",
    }
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="secret",
        PAPERTRAIL_URL=rsyslog.url("tls"),
        SSL_CERT_FILE=str(tls_ca[1]),
        LOG_LEVEL="debug",
        PROGRESS_TOKEN=secrets["PROGRESS_TOKEN"],
        AWS_SESSION_TOKEN=secrets["AWS_SESSION_TOKEN"],
    )
    argv = ["typed", "--name", secrets["PROGRESS_TOKEN"], "--token", secrets["token"]]
    argv += ["--items", aws_env["AWS_SECRET_ACCESS_KEY"], "--items", secrets["AWS_SESSION_TOKEN"]]
    run = run_cli(argv, env)
    assert run.returncode == 0, run.stderr
    assert run.one("typed.seen")["token_echo"] == "***"
    cloudwatch = [e["message"] for e in log_events(group, "typed/secret/1")]
    papertrail = [line.message for line in rsyslog.wait_for("tls", len(cloudwatch))]
    assert cloudwatch == papertrail == stdout_lines(run.stdout)
    everything = "\n".join(cloudwatch + papertrail)
    assert "***" in everything
    for secret in [*secrets.values(), aws_env["AWS_SECRET_ACCESS_KEY"]]:
        assert secret not in everything


def test_help_and_list_do_not_import_boto3(tmp_path: Path) -> None:
    env = base_env(CLOUDWATCH_LOG_GROUP="/batch-task/x", PAPERTRAIL_URL="tls://127.0.0.1:1")
    for args in (["--help"], ["list"]):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "runtime", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "boto3" not in proc.stderr
        assert "runtime.sinks.cloudwatch" not in proc.stderr
