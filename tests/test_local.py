"""`batch-task local` as a developer runs it: the real CLI, real attempts through entrypoint.sh.

Each test writes a small job definition for a fixture task and checks what Batch would have
done: the attempts and their exit codes, the AWS_BATCH_* variables the task saw, the final
status and the exit code of `local` itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run, base_env, run_cli, start_cli, wait_for_event

RETRY_TEMPORARY = [
    {"onExitCode": "75", "action": "RETRY"},
    {"onStatusReason": "Host EC2*", "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
]


def definition(
    tmp_path: Path,
    command: list[str],
    *,
    attempts: int = 3,
    rules: list[dict[str, str]] | None = None,
    timeout: int | None = None,
    parameters: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
) -> str:
    document: dict[str, Any] = {
        "jobDefinitionName": "fixture",
        "type": "container",
        "parameters": parameters or {},
        "containerProperties": {
            "image": "batch-task:test",
            "command": command,
            "environment": [{"name": k, "value": v} for k, v in (environment or {}).items()],
            "linuxParameters": {"initProcessEnabled": True},
        },
        "retryStrategy": {"attempts": attempts, "evaluateOnExit": rules or RETRY_TEMPORARY},
    }
    if timeout is not None:
        document["timeout"] = {"attemptDurationSeconds": timeout}
    path = tmp_path / "jobdef.json"
    path.write_text(json.dumps(document))
    return str(path)


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """base_env with the local state in the test's own directory."""
    return base_env(BATCH_TASK_HOME=str(tmp_path / "home"), **extra)


def local(args: list[str], tmp_path: Path) -> tuple[Run, dict[str, Any]]:
    """Run `local --json`; return the run and the describe-jobs summary (stdout's last line)."""
    run = run_cli(["local", *args, "--json"], local_env(tmp_path), timeout=60)
    summary = json.loads(run.stdout.splitlines()[-1]) if run.stdout.strip() else {}
    return run, summary


def exit_codes(job: dict[str, Any]) -> list[int | None]:
    return [a["container"]["exitCode"] for a in job["attempts"]]


def test_temporary_failure_is_retried_and_the_second_attempt_succeeds(tmp_path: Path) -> None:
    run, summary = local([definition(tmp_path, ["flaky"])], tmp_path)
    assert run.returncode == 0, run.stderr
    (job,) = summary["jobs"]
    assert job["status"] == "SUCCEEDED"
    assert exit_codes(job) == [75, 0]
    failed, succeeded = run.one("task.failed"), run.one("task.succeeded")
    assert (failed["attempt"], failed["exit_code"]) == (1, 75)
    assert (succeeded["attempt"], succeeded["result"]) == (2, 2)
    assert failed["job_id"] == succeeded["job_id"] == job["jobId"]
    assert succeeded["queue"] == "local" and succeeded["compute_environment"] == "local"
    assert "attempt 1 exited 75" in run.stderr and "retrying" in run.stderr
    assert "SUCCEEDED" in run.stderr


def test_bad_input_is_not_retried(tmp_path: Path) -> None:
    run, summary = local([definition(tmp_path, ["fail", "--kind", "input"])], tmp_path)
    assert run.returncode == 65
    (job,) = summary["jobs"]
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Essential container in task exited"
    assert exit_codes(job) == [65]
    assert len(run.named("task.started")) == 1


def test_an_exit_no_rule_matches_is_retried_up_to_the_attempts(tmp_path: Path) -> None:
    path = definition(
        tmp_path,
        ["fail", "--kind", "input"],
        attempts=2,
        rules=[{"onExitCode": "1*", "action": "EXIT"}],
    )
    run, summary = local([path], tmp_path)
    assert run.returncode == 65
    assert exit_codes(summary["jobs"][0]) == [65, 65]


def test_array_job_children_each_get_their_index(tmp_path: Path) -> None:
    run, summary = local([definition(tmp_path, ["env-probe"]), "--array-size", "3"], tmp_path)
    assert run.returncode == 0, run.stderr
    parent, *children = summary["jobs"]
    assert parent["status"] == "SUCCEEDED"
    assert parent["arrayProperties"]["size"] == 3
    assert parent["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    results = sorted(
        (e["result"] for e in run.named("task.succeeded")), key=lambda r: r["array_index"]
    )
    assert [r["array_index"] for r in results] == [0, 1, 2]
    assert [r["job_id"] for r in results] == [f"{parent['jobId']}:{i}" for i in range(3)]
    assert [c["arrayProperties"]["index"] for c in children] == [0, 1, 2]
    assert all(c["jobId"] == f"{parent['jobId']}:{c['arrayProperties']['index']}" for c in children)


def test_a_failed_child_fails_the_array_job(tmp_path: Path) -> None:
    path = definition(tmp_path, ["fail", "--kind", "Ref::kind"], parameters={"kind": "input"})
    run, summary = local([path, "--array-size", "2"], tmp_path)
    assert run.returncode == 65
    parent, *children = summary["jobs"]
    assert parent["status"] == "FAILED" and parent["statusReason"] == "2 of 2 child jobs failed"
    assert [c["status"] for c in children] == ["FAILED", "FAILED"]


def test_attempt_timeout_stops_the_job_and_is_not_retried(tmp_path: Path) -> None:
    started = time.monotonic()
    run, summary = local([definition(tmp_path, ["block", "--seconds", "600"], timeout=1)], tmp_path)
    elapsed = time.monotonic() - started
    assert run.returncode == 143
    (job,) = summary["jobs"]
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert exit_codes(job) == [143]
    failed = run.one("task.failed")
    assert failed["exit_code"] == 143 and failed["error"] == "received SIGTERM"
    assert elapsed < 20, "the runtime exits within its grace period, long before SIGKILL"


def test_parameters_and_environment_reach_the_task(tmp_path: Path) -> None:
    path = definition(
        tmp_path,
        ["typed", "--name", "Ref::name", "--count", "Ref::count"],
        parameters={"count": "2"},
        environment={"TASK_MODULES": "tests.fixture_tasks", "LOG_LEVEL": "error"},
    )
    env = local_env(tmp_path)
    del env["TASK_MODULES"]
    run = run_cli(["local", path, "-p", "name=from -p", "-e", "LOG_LEVEL=info", "--json"], env)
    assert run.returncode == 0, run.stderr
    result = run.one("task.succeeded")["result"]
    assert (result["name"], result["count"]) == ("from -p", 2)


def test_interrupting_local_terminates_the_job(tmp_path: Path) -> None:
    path = definition(tmp_path, ["block", "--seconds", "600"])
    proc = start_cli(["local", path, "--json"], local_env(tmp_path))
    before = wait_for_event(proc, "block.sleeping")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143
    job = json.loads(out.splitlines()[-1])["jobs"][0]
    assert job["status"] == "FAILED" and exit_codes(job) == [143]
    assert any('"task.failed"' in line for line in [*before, *out.splitlines()])
    assert "interrupted" in job["statusReason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "missing.json' does not exist"),
        (["BAD_JSON"], "is not valid JSON"),
        (["JOBDEF"], "needs -p kind=VALUE"),
        (["JOBDEF", "-p", "kind=input", "-p", "knd=x"], "did you mean 'kind'"),
        (["JOBDEF", "-p", "kind"], "-p takes NAME=VALUE"),
        (["JOBDEF", "-p", "kind=x", "--array-size", "1"], "--array-size must be from 2"),
        (["JOBDEF", "--array-size", "three"], "invalid int value"),
        ([], "JOBDEF.json"),
    ],
)
def test_user_mistakes_are_usage_errors_that_say_what_to_do(
    tmp_path: Path, args: list[str], message: str
) -> None:
    jobdef = definition(tmp_path, ["fail", "--kind", "Ref::kind"])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    args = [jobdef if a == "JOBDEF" else str(bad) if a == "BAD_JSON" else a for a in args]
    run = run_cli(["local", *args], local_env(tmp_path))
    assert run.returncode == 64, run.stderr
    assert message in run.stderr
    assert run.stdout == ""
    assert not (tmp_path / "home").exists(), "a job that can't start is not recorded"


def test_help_is_fast_and_documents_the_exit_status() -> None:
    run = run_cli(["local", "--help"])
    assert run.returncode == 0
    assert "Exit status" in run.stdout and "--array-size" in run.stdout


PROBE_ENTRYPOINT = """#!/bin/sh
printf '{"event": "probe", "progress_log": "%s", "args": "%s"}\\n' "$BATCH_TASK_PROGRESS_LOG" "$*"
echo '{"status": "RUNNING", "progress": 0.5}' >> "$BATCH_TASK_PROGRESS_LOG"
echo "not json $*"
"""


@pytest.fixture(scope="session")
def probe_image(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny image (the host's dash and an entrypoint.sh, run as uid 10001) in podman storage
    of its own; the environment that makes `local --image` use that storage."""
    if not (shutil.which("podman") and shutil.which("runc") and shutil.which("ldd")):
        pytest.skip("podman, runc and ldd are needed to run a container")
    work = tmp_path_factory.mktemp("podman")
    rootfs = work / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "tmp").mkdir()
    shutil.copy("/bin/dash", rootfs / "bin" / "sh")
    libraries = subprocess.run(["ldd", "/bin/dash"], capture_output=True, text=True).stdout
    for library in re.findall(r"(/\S+)", libraries):
        target = rootfs / library.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(library, target)
    (rootfs / "entrypoint.sh").write_text(PROBE_ENTRYPOINT)
    (rootfs / "entrypoint.sh").chmod(0o755)
    (work / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
    )
    wrapper = work / "bin" / "podman"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\nexec {shutil.which("podman")} --root "{work}/storage" '
        f'--runroot "{work}/run" "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {
        "PATH": f"{wrapper.parent}:{os.environ['PATH']}",
        "CONTAINERS_CONF": str(work / "containers.conf"),
    }
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(work / "rootfs.tar"), "."], check=True)
    imported = subprocess.run(
        [
            *("podman", "import", "--change", 'ENTRYPOINT ["/entrypoint.sh"]'),
            *("--change", "USER 10001", str(work / "rootfs.tar"), "localhost/local-probe:test"),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if imported.returncode != 0:
        pytest.skip(f"podman can't import an image here: {imported.stderr[-300:]}")
    return env


def test_with_an_image_the_job_writes_progress_to_its_mounted_directory(
    tmp_path: Path, probe_image: dict[str, str]
) -> None:
    path = definition(tmp_path, ["probe", "--token", "Ref::token"], attempts=1)
    env = local_env(tmp_path, **probe_image)
    args = ["local", path, "-p", "token=VerySecret-4242", "--image", "localhost/local-probe:test"]
    run = run_cli([*args, "--json"], env, timeout=120)
    assert run.returncode == 0, run.stderr
    job = json.loads(run.stdout.splitlines()[-1])["jobs"][0]
    assert run.one("probe")["progress_log"] == "/batch-task-job/progress.jsonl"
    recorded = tmp_path / "home" / "jobs" / job["jobId"]
    assert json.loads((recorded / "progress.jsonl").read_text()) == {
        "status": "RUNNING",
        "progress": 0.5,
    }
    logged = [json.loads(line) for line in (recorded / "logs.jsonl").read_text().splitlines()]
    assert [e["event"] for e in logged] == ["probe", "not json probe --token ***"]
    assert logged[1]["logger"] == "stdout" and logged[1]["job_id"] == job["jobId"]
    everything = run.stdout + run.stderr + "".join(f.read_text() for f in recorded.iterdir())
    assert "VerySecret-4242" not in everything
