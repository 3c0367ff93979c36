"""The CloudWatch Logs sink against moto's server: every event, in order, as stdout has it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, base_env, run_cli
from tests.fixtures.syslog import Receiver


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


def test_every_event_arrives_in_order_with_its_timestamp(aws_env: dict[str, str]) -> None:
    group = group_name()
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="4f1c2a:7",
        AWS_BATCH_JOB_ATTEMPT="2",
    )
    run = run_cli(["chatty", "--count", "20000"], env)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert not run.named("log.events_dropped")
    events = log_events(group, "chatty/4f1c2a-7/2")
    assert [e["message"] for e in events] == stdout_lines(run.stdout)
    assert len(events) == 20002
    for event in events[:: 20002 // 50]:
        stamp = json.loads(event["message"])["timestamp"]
        assert event["timestamp"] == round(datetime.fromisoformat(stamp).timestamp() * 1000)


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
    env = base_env(**aws_env, CLOUDWATCH_LOG_GROUP=group, AWS_BATCH_JOB_ID="big")
    run = run_cli(["chatty", "--count", "2", "--size", "300000"], env)
    assert run.returncode == 0, run.stderr
    printed = run.named("chatty.line")
    assert [len(e["payload"]) for e in printed] == [300_000, 300_000]
    messages = [e["message"] for e in log_events(group, "chatty/big/1")]
    assert len(messages) == 4
    for n, message in enumerate(messages[1:3]):
        assert len(message.encode()) <= 256 * 1024 - 26
        event = json.loads(message)
        assert event["event"] == "chatty.line"
        assert event["job_id"] == "big"
        assert event["truncated_from_bytes"] > 300_000
        assert event["head"].startswith(stdout_lines(run.stdout)[n + 1][:100])
        assert len(event["head"]) > 200_000
    assert json.loads(messages[-1])["event"] == "task.succeeded"


def test_secrets_reach_no_sink_at_any_level(
    aws_env: dict[str, str], tls_syslog: Receiver, tls_ca: tuple[Any, Path]
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
        PAPERTRAIL_URL=tls_syslog.url,
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
    tls_syslog.wait_for(lambda packets: len(packets) == len(cloudwatch))
    papertrail = [line.message for line in tls_syslog.lines()]
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
