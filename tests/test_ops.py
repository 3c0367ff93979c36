"""The operator's commands against moto's server: submit, schedule, status, logs.

`status` and `logs` also find local jobs in the local state (without AWS) and jobs Batch does
not know in the runtime's own log group.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import base_env, batch_queue, run_cli, start_cli

QUEUE = "ops-queue"


@pytest.fixture
def batch_env(aws_env: dict[str, str]) -> dict[str, str]:
    """A queue in moto's Batch (its jobs never run: moto has no Docker here)."""
    batch_queue(QUEUE)
    return base_env(**aws_env)


def jobdef(tmp_path: Path, name: str, **environment: str) -> Path:
    body = {
        "jobDefinitionName": name,
        "type": "container",
        "parameters": {"count": "1"},
        "containerProperties": {
            "image": "batch-task:latest",
            "command": ["typed", "--name", "Ref::name", "--count", "Ref::count"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
            "environment": [{"name": k, "value": v} for k, v in environment.items()],
        },
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def jobs_in_queue() -> list[dict[str, Any]]:
    batch = boto3.client("batch")
    found = []
    for status in (
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ):
        found += batch.list_jobs(jobQueue=QUEUE, jobStatus=status)["jobSummaryList"]
    return found


def test_dry_run_prints_a_valid_request_without_aws(tmp_path: Path) -> None:
    path = jobdef(tmp_path, "dry-def")
    run = run_cli(
        ["submit", str(path), "--queue", QUEUE, "-p", "name=scene-1", "--dry-run", "--name", "n1"]
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "jobName": "n1",
        "jobQueue": QUEUE,
        "jobDefinition": "dry-def",
        "parameters": {"name": "scene-1"},
    }


def test_submit_refuses_bad_parameters_before_calling_aws(
    tmp_path: Path, batch_env: dict[str, str]
) -> None:
    path = jobdef(tmp_path, "bad-def")
    before = len(jobs_in_queue())
    typo = run_cli(["submit", str(path), "--queue", QUEUE, "-p", "nmae=x"], batch_env)
    assert typo.returncode == 64
    assert "parameter 'nmae' is not used by job definition 'bad-def'" in typo.stderr
    assert "did you mean 'name'?" in typo.stderr
    bad = run_cli(["submit", str(path), "--queue", QUEUE, "-p", "name=x", "-p", "count=many"])
    assert bad.returncode == 64
    assert "--count: expected an integer, got 'many'" in bad.stderr
    missing = run_cli(["submit", str(path), "--queue", QUEUE], batch_env)
    assert missing.returncode == 64
    assert "needs -p name=VALUE" in missing.stderr
    assert len(jobs_in_queue()) == before, "nothing may be submitted"


def test_submit_registers_a_local_definition_and_submits(
    tmp_path: Path, batch_env: dict[str, str]
) -> None:
    path = jobdef(tmp_path, "real-def")
    run = run_cli(["submit", str(path), "--queue", QUEUE, "-p", "name=scene-9"], batch_env)
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.strip()
    job = boto3.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]
    assert job["parameters"]["name"] == "scene-9"
    assert job["jobDefinition"].endswith("job-definition/real-def:1")


def test_submit_with_a_manifest_validates_every_item(
    tmp_path: Path, batch_env: dict[str, str], s3: Any, bucket: str
) -> None:
    path = jobdef(tmp_path, "array-def")
    items = [{"name": "a"}, {"name": "b", "count": 2}, {"name": "c"}]
    s3.put_object(Bucket=bucket, Key="m.json", Body=json.dumps(items).encode())
    args = ["submit", str(path), "--queue", QUEUE, "-p", "name=x", "--dry-run"]
    run = run_cli([*args, "--manifest", f"s3://{bucket}/m.json"], batch_env)
    assert run.returncode == 0, run.stderr
    request = json.loads(run.stdout)
    assert request["arrayProperties"] == {"size": 3}
    assert request["containerOverrides"]["command"][-2:] == ["--manifest", f"s3://{bucket}/m.json"]
    no_flag = run_cli(
        ["submit", str(path), "--queue", QUEUE, "--dry-run", "--manifest", f"s3://{bucket}/m.json"],
        batch_env,
    )
    assert no_flag.returncode == 0, "each item supplies the name that no -p gives"
    assert "parameters" not in json.loads(no_flag.stdout)
    s3.put_object(Bucket=bucket, Key="bad.json", Body=b'[{"name": "a"}, {"count": "x"}]')
    bad = run_cli([*args, "--manifest", f"s3://{bucket}/bad.json"], batch_env)
    assert bad.returncode == 64
    assert "manifest item 1" in bad.stderr
    assert "--count: expected an integer" in bad.stderr
    s3.put_object(Bucket=bucket, Key="partial.json", Body=b'[{"name": "a"}, {"count": "2"}]')
    partial = [*args[:4], "--dry-run", "--manifest", f"s3://{bucket}/partial.json"]
    missing = run_cli(partial, batch_env)
    assert missing.returncode == 64
    assert "manifest item 1" in missing.stderr
    assert "--name is required" in missing.stderr


def test_schedule_round_trip(tmp_path: Path, batch_env: dict[str, str]) -> None:
    path = jobdef(tmp_path, "nightly-def")
    role = "arn:aws:iam::123456789012:role/scheduler"
    create = [
        *("schedule", "create", "nightly", "--expression", "cron(0 3 * * ? *)", str(path)),
        *("--queue", QUEUE, "-p", "name=nightly-scene", "--role-arn", role),
    ]
    made = run_cli(create, batch_env)
    assert made.returncode == 0, made.stderr
    schedule = boto3.client("scheduler").get_schedule(Name="nightly")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    assert json.loads(schedule["Target"]["Input"]) == {
        "JobName": "nightly",
        "JobQueue": QUEUE,
        "JobDefinition": "nightly-def",
        "Parameters": {"name": "nightly-scene"},
    }
    listed = run_cli(["schedule", "list"], batch_env)
    assert "nightly\t" in listed.stdout
    assert run_cli(["schedule", "delete", "nightly"], batch_env).returncode == 0
    assert "nightly\t" not in run_cli(["schedule", "list"], batch_env).stdout


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 hours)", "write rate(1 hour)"),
        ("rate(5 minute)", "write rate(5 minutes)"),
        ("cron(0 3 * * *)", "cron takes six fields"),
        ("cron(0 3 * * 1 *)", "must be '?'"),
        ("every day", "is not a schedule expression"),
    ],
)
def test_schedule_expressions_are_checked_before_the_call(
    tmp_path: Path, expression: str, message: str
) -> None:
    path = jobdef(tmp_path, "expr-def")
    run = run_cli(
        [
            *("schedule", "create", "bad", "--expression", expression, str(path)),
            *("--queue", QUEUE, "-p", "name=x", "--role-arn", "arn:aws:iam::1:role/r"),
        ]
    )
    assert run.returncode == 64
    assert message in run.stderr


def test_status_joins_batch_status_and_progress(
    tmp_path: Path, batch_env: dict[str, str], s3: Any, bucket: str
) -> None:
    path = jobdef(tmp_path, "status-def", PROGRESS_URL=f"s3://{bucket}/progress")
    job_id = run_cli(["submit", str(path), "--queue", QUEUE, "-p", "name=s"], batch_env).stdout
    job_id = job_id.strip()
    doc = {"job_id": job_id, "status": "RUNNING", "progress": 0.42, "stage": "convert"}
    s3.put_object(Bucket=bucket, Key=f"progress/{job_id}.json", Body=json.dumps(doc).encode())
    run = run_cli(["status", job_id, "--json"], batch_env)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["jobId"] == job_id
    assert info["task"] == "typed"
    assert info["progress"]["progress"] == 0.42
    text = run_cli(["status", job_id], batch_env).stdout
    assert "progress: RUNNING 42% convert" in text
    assert run_cli(["status", "no-such-job"], batch_env).returncode == 66


def test_logs_shows_a_runtime_run_from_its_cloudwatch_stream(
    tmp_path: Path, batch_env: dict[str, str]
) -> None:
    path = jobdef(tmp_path, "logs-def", CLOUDWATCH_LOG_GROUP="/batch-task/ops-test")
    job_id = run_cli(["submit", str(path), "--queue", QUEUE, "-p", "name=l"], batch_env).stdout
    job_id = job_id.strip()
    env = {**batch_env, "CLOUDWATCH_LOG_GROUP": "/batch-task/ops-test", "AWS_BATCH_JOB_ID": job_id}
    worker = run_cli(["typed", "--name", "from-the-worker"], env)
    assert worker.returncode == 0, worker.stderr
    logs = run_cli(["logs", job_id], batch_env)
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert any(" info    task.started  params=" in line for line in lines), logs.stdout
    assert any("task.succeeded" in line and "from-the-worker" in line for line in lines)


def test_status_and_logs_read_local_jobs_without_aws(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9"  # nothing listens: a call to AWS would fail
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"), AWS_ENDPOINT_URL=closed)
    path = jobdef(tmp_path, "local-def")
    ran = run_cli(["local", str(path), "-p", "name=here", "--json"], env)
    assert ran.returncode == 0, ran.stderr
    job_id = json.loads(ran.stdout.splitlines()[-1])["jobs"][0]["jobId"]
    status = run_cli(["status", job_id, "--json"], env)
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert (info["jobId"], info["status"], info["task"]) == (job_id, "SUCCEEDED", "typed")
    assert [a["exitCode"] for a in info["attempts"]] == [0]
    assert info["progress"]["status"] == "SUCCEEDED" and info["progress"]["progress"] == 1.0
    assert "local-def (" in run_cli(["status", job_id], env).stdout
    logs = run_cli(["logs", job_id], env)
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert " info    task.started  " in lines[0] and "task.succeeded" in lines[-1]
    assert '"name": "here"' in lines[-1]

    array = run_cli(["local", str(path), "-p", "name=a", "--array-size", "2", "--json"], env)
    parent = json.loads(array.stdout.splitlines()[-1])["jobs"][0]["jobId"]
    info = json.loads(run_cli(["status", parent, "--json"], env).stdout)
    assert info["array"]["statusSummary"]["SUCCEEDED"] == 2
    assert sorted(info["array"]["progress"]) == [f"{parent}:0", f"{parent}:1"]
    logged = run_cli(["logs", parent], env).stdout
    assert "array_index=0" in logged and "array_index=1" in logged
    assert logged.count("task.succeeded") == 2


def test_logs_follows_a_local_job_while_it_runs(tmp_path: Path) -> None:
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"))
    body = json.loads(jobdef(tmp_path, "follow-def").read_text())
    body["containerProperties"]["command"] = ["block", "--seconds", "2"]
    path = tmp_path / "follow.json"
    path.write_text(json.dumps(body))
    local = start_cli(["local", str(path)], env)
    assert local.stderr is not None
    line = local.stderr.readline()
    assert "recorded in" in line, line
    job_id = line.split(": recorded in")[0].split()[-1]
    follow = run_cli(["logs", job_id, "--follow"], env, timeout=60)
    assert local.wait(60) == 0
    assert follow.returncode == 0, follow.stderr
    assert "block.sleeping" in follow.stdout
    assert "task.succeeded" in follow.stdout.splitlines()[-1]


def test_logs_and_status_find_a_runtime_logged_job_batch_does_not_know(
    tmp_path: Path, batch_env: dict[str, str]
) -> None:
    group = "/batch-task/unknown-to-batch"
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    for job_id, name in ((mine, "mine"), (other, "not-mine")):
        env = {**batch_env, "CLOUDWATCH_LOG_GROUP": group, "AWS_BATCH_JOB_ID": job_id}
        assert run_cli(["typed", "--name", name], env).returncode == 0
    env = {**batch_env, "CLOUDWATCH_LOG_GROUP": group, "BATCH_TASK_HOME": str(tmp_path)}
    logs = run_cli(["logs", mine], env)
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert "task.started" in lines[0] and "task.succeeded" in lines[-1]
    assert '"name": "mine"' in lines[-1] and "not-mine" not in logs.stdout
    status = run_cli(["status", mine, "--json"], env)
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert (info["status"], info["task"]) == ("SUCCEEDED", "typed")
    assert [a["exitCode"] for a in info["attempts"]] == [0]
    unknown = run_cli(["logs", str(uuid.uuid4())], env)
    assert unknown.returncode == 66
    assert f"log group '{group}' has no events of it" in unknown.stderr
    without_group = {**batch_env, "BATCH_TASK_HOME": str(tmp_path)}
    hint = run_cli(["logs", mine], without_group)
    assert hint.returncode == 66 and "set CLOUDWATCH_LOG_GROUP" in hint.stderr
