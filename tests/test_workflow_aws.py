"""`workflow submit` against moto's Batch and S3: what is submitted, tagged and recorded.

moto runs no job here (no Docker), so these tests check the shape of what was submitted
(FINDINGS.md): dependencies, barriers, tags, manifests, parameter documents, definitions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import base_env, batch_queue, run_cli
from tests.workflow_tasks import write_definitions

QUEUE = "wf-queue"


@pytest.fixture
def env(aws_env: dict[str, str], bucket: str) -> dict[str, str]:
    """A job queue in moto's Batch and an S3 WORKFLOW_STATE."""
    batch_queue(QUEUE)
    return base_env(
        **aws_env, TASK_MODULES="tests.workflow_tasks", WORKFLOW_STATE=f"s3://{bucket}/runs"
    )


def write_flow(folder: Path, document: dict[str, Any]) -> str:
    write_definitions(folder / "defs")
    path = folder / "flow.json"
    path.write_text(json.dumps(document))  # JSON is YAML too
    return str(path)


def wide_flow(folder: Path, leaves: int) -> str:
    step = {"job_definition": "defs/wf-step.json"}
    nodes: dict[str, Any] = {
        f"leaf{i}": {**step, "params": {"out": "{inputs.out}", "name": f"leaf{i}"}}
        for i in range(leaves)
    }
    nodes["root"] = {
        **step,
        "depends_on": list(nodes),
        "params": {"out": "{inputs.out}", "name": "root"},
    }
    return write_flow(
        folder, {"name": "wide", "inputs": {"out": {"default": "/out"}}, "nodes": nodes}
    )


def run_record(bucket: str, run_id: str) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=f"runs/{run_id}/run.json")["Body"]
    return json.loads(body.read())


def describe(job_ids: list[str]) -> dict[str, dict[str, Any]]:
    batch = boto3.client("batch")
    found = {}
    for start in range(0, len(job_ids), 100):
        for job in batch.describe_jobs(jobs=job_ids[start : start + 100])["jobs"]:
            found[job["jobId"]] = job
    return found


def test_a_25_way_fan_in_goes_through_barriers(tmp_path: Path, env: dict, bucket: str) -> None:
    result = run_cli(["workflow", "submit", wide_flow(tmp_path, 25), "--queue", QUEUE], env)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.splitlines()[-1]
    run = run_record(bucket, run_id)
    assert set(run) == {"run_id", "workflow", "inputs", "created_at", "nodes", "barriers"}
    assert run["run_id"] == run_id and run["workflow"] == "wide"
    assert run["nodes"]["root"]["depends_on"] == [f"leaf{i}" for i in range(25)]
    assert run["barriers"]
    ids = [n["job_id"] for n in run["nodes"].values()] + run["barriers"]
    jobs = describe(ids)
    assert len(jobs) == 26 + len(run["barriers"])
    for job in jobs.values():
        assert len(job.get("dependsOn", [])) <= 20, job["jobName"]
        assert job["tags"]["batch-task:run-id"] == run_id
    for barrier in run["barriers"]:
        assert "batch-task-barrier" in jobs[barrier]["jobDefinition"]
    reached: set[str] = set()
    frontier = [run["nodes"]["root"]["job_id"]]
    while frontier:
        job = jobs[frontier.pop()]
        for dep in job.get("dependsOn", []):
            if dep["jobId"] not in reached:
                reached.add(dep["jobId"])
                frontier.append(dep["jobId"])
    leaves = {run["nodes"][f"leaf{i}"]["job_id"] for i in range(25)}
    assert leaves <= reached


def test_arrays_read_manifests_and_large_fan_ins_read_a_params_document(
    tmp_path: Path, env: dict, bucket: str
) -> None:
    items = [{"id": f"{i:04d}", "path": f"s3://{bucket}/in/scene-{i:04d}.tif"} for i in range(600)]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    nodes = {
        "each": {
            "job_definition": "defs/wf-step.json",
            "foreach": "{inputs.items}",
            "params": {"out": "{inputs.out}", "name": "{item.id}", "value": "{item.path}"},
        },
        "all": {
            "job_definition": "defs/wf-collect.json",
            "depends_on": ["each"],
            "params": {"out": "{inputs.out}", "name": "all", "values": "{nodes.each.params.value}"},
        },
    }
    document = {"name": "big", "inputs": {"out": {"default": "/out"}, "items": {}}, "nodes": nodes}
    path = write_flow(tmp_path, document)
    args = ["workflow", "submit", path, "--queue", QUEUE, "-p", f"items={tmp_path}/items.jsonl"]
    result = run_cli(args, env)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.splitlines()[-1]
    run = run_record(bucket, run_id)
    jobs = describe([run["nodes"]["each"]["job_id"], run["nodes"]["all"]["job_id"]])
    each, collect = jobs[run["nodes"]["each"]["job_id"]], jobs[run["nodes"]["all"]["job_id"]]
    assert each["arrayProperties"]["size"] == 600
    assert run["nodes"]["each"]["array_size"] == 600
    command = each["container"]["command"]
    manifest_uri = command[command.index("--manifest") + 1]
    assert manifest_uri == f"s3://{bucket}/runs/{run_id}/manifests/each.json"
    s3 = boto3.client("s3")
    key = manifest_uri.removeprefix(f"s3://{bucket}/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert manifest[7] == {"out": "/out", "name": "0007", "value": items[7]["path"]}
    assert collect["dependsOn"] == [{"jobId": each["jobId"]}]
    command = collect["container"]["command"]
    params_uri = command[command.index("--params") + 1]
    assert collect["parameters"]["values"] == "Ref::values"
    key = params_uri.removeprefix(f"s3://{bucket}/")
    values = json.loads(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["values"])
    assert values == [i["path"] for i in items]


def test_definitions_are_registered_once_per_content(tmp_path: Path, env: dict) -> None:
    path = wide_flow(tmp_path, 2)
    for _ in range(2):
        assert run_cli(["workflow", "submit", path, "--queue", QUEUE], env).returncode == 0
    batch = boto3.client("batch")

    def revisions() -> list[int]:
        found = batch.describe_job_definitions(jobDefinitionName="wf-step", status="ACTIVE")
        return sorted(d["revision"] for d in found["jobDefinitions"])

    before = revisions()
    definition = tmp_path / "defs" / "wf-step.json"
    edited = json.loads(definition.read_text())
    edited["containerProperties"]["environment"] = [{"name": "LOG_LEVEL", "value": "debug"}]
    definition.write_text(json.dumps(edited))
    path = str(tmp_path / "flow.json")
    assert run_cli(["workflow", "submit", path, "--queue", QUEUE], env).returncode == 0
    after = revisions()
    assert len(after) == len(before) + 1
    assert run_cli(["workflow", "submit", path, "--queue", QUEUE], env).returncode == 0
    assert revisions() == after


def test_dry_run_prints_requests_and_writes_nothing(tmp_path: Path, env: dict, bucket: str) -> None:
    path = wide_flow(tmp_path, 25)
    document = json.loads(Path(path).read_text())
    document["nodes"]["root"].update(queue="other-queue", attempts=3, timeout_seconds=600)
    Path(path).write_text(json.dumps(document))
    result = run_cli(["workflow", "submit", path, "--queue", QUEUE, "--dry-run"], env)
    assert result.returncode == 0, result.stderr
    requests = json.loads(result.stdout)
    assert len(requests) == 26 + 2
    root = requests[-1]
    assert root["jobQueue"] == "other-queue"
    assert root["retryStrategy"] == {"attempts": 3}
    assert root["timeout"] == {"attemptDurationSeconds": 600}
    assert {d["jobId"] for d in root["dependsOn"]} <= {"<barrier-1>", "<barrier-2>"} | {
        f"<leaf{i}>" for i in range(25)
    }
    assert all(len(r.get("dependsOn", [])) <= 20 for r in requests)
    assert boto3.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_submit_needs_an_s3_workflow_state(tmp_path: Path, env: dict) -> None:
    local = {**env, "WORKFLOW_STATE": str(tmp_path / "runs")}
    result = run_cli(["workflow", "submit", wide_flow(tmp_path, 2), "--queue", QUEUE], local)
    assert result.returncode == 64 and "WORKFLOW_STATE" in result.stderr


def test_schedule_round_trip_runs_the_stored_workflow(
    tmp_path: Path, env: dict, bucket: str
) -> None:
    path = wide_flow(tmp_path, 3)
    role = "arn:aws:iam::123456789012:role/scheduler"
    args = ["schedule", "create", "wf-nightly", "--expression", "cron(0 3 * * ? *)"]
    args += ["--workflow", path, "--queue", QUEUE, "--role-arn", role, "-p", "out=/nightly"]
    created = run_cli(args, env)
    assert created.returncode == 0, created.stderr
    schedule = boto3.client("scheduler").get_schedule(Name="wf-nightly")
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    submit = json.loads(schedule["Target"]["Input"])
    assert "batch-task-workflow-launcher" in submit["JobDefinition"]
    command = submit["ContainerOverrides"]["Command"]
    flow_uri = f"s3://{bucket}/runs/schedules/wf-nightly.json"
    assert command == ["workflow", "submit", flow_uri, "--queue", QUEUE, "-p", "out=/nightly"]
    stored = json.loads(
        boto3.client("s3")
        .get_object(Bucket=bucket, Key="runs/schedules/wf-nightly.json")["Body"]
        .read()
    )
    assert stored["nodes"]["root"]["job_definition"].startswith("wf-step:")
    # What the launcher job does when the schedule fires: the same command, in the image.
    launcher_env = {
        **env,
        **{e["Name"]: e["Value"] for e in submit["ContainerOverrides"]["Environment"]},
    }
    launched = run_cli(command, launcher_env)
    assert launched.returncode == 0, launched.stderr
    run = run_record(bucket, launched.stdout.splitlines()[-1])
    assert run["workflow"] == "wide" and run["inputs"] == {"out": "/nightly"}
    jobs = describe([n["job_id"] for n in run["nodes"].values()])
    assert all("wf-step:" in j["jobDefinition"] for j in jobs.values())
    assert "wf-nightly" in run_cli(["schedule", "list"], env).stdout
    assert run_cli(["schedule", "delete", "wf-nightly"], env).returncode == 0


def test_resume_resubmits_what_failed_behind_its_new_dependency(
    tmp_path: Path, env: dict, bucket: str
) -> None:
    """moto fails every job (no Docker), so both nodes of a chain are resubmitted."""
    step = {"job_definition": "defs/wf-step.json"}
    nodes = {
        "a": {**step, "params": {"out": "/out", "name": "a"}},
        "b": {**step, "depends_on": ["a"], "params": {"out": "/out", "name": "b"}},
    }
    path = write_flow(tmp_path, {"name": "again", "nodes": nodes})
    submitted = run_cli(["workflow", "submit", path, "--queue", QUEUE], env)
    run_id = submitted.stdout.splitlines()[-1]
    first = run_record(bucket, run_id)["nodes"]
    for _ in range(100):
        status = run_cli(["workflow", "status", run_id], env)
        if status.stdout.count("FAILED") == 2:
            break
    resumed = run_cli(["workflow", "resume", run_id], env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1] == run_id
    now = run_record(bucket, run_id)["nodes"]
    assert now["a"]["job_id"] != first["a"]["job_id"]
    jobs = describe([now["a"]["job_id"], now["b"]["job_id"]])
    assert jobs[now["b"]["job_id"]]["dependsOn"] == [{"jobId": now["a"]["job_id"]}]
    assert jobs[now["a"]["job_id"]]["jobName"] == f"{run_id}-a-resume-1"
    assert jobs[now["a"]["job_id"]]["tags"]["batch-task:run-id"] == run_id
