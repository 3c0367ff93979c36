"""The local state store read and written as `local`, `status`, `logs` and the board use it.

The store is files under BATCH_TASK_HOME; these tests write through its API and read back
what another process would see, including while a writer in another process keeps changing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.batch import jobdef
from runtime.batch.jobdef import JobDefinition
from runtime.simulator import jobs
from runtime.simulator.state import LocalState, child_id, home
from tests.conftest import FIXTURE_TASKS, ROOT, Run, base_env, run_cli


def job(job_id: str, created: int, **extra: object) -> dict[str, object]:
    return {"jobId": job_id, "jobName": "n", "status": "RUNNABLE", "createdAt": created, **extra}


def test_home_follows_batch_task_home(tmp_path: Path) -> None:
    assert home({"BATCH_TASK_HOME": str(tmp_path)}) == tmp_path
    assert home({}) == Path("~/.local/state/batch-task").expanduser()
    assert home({"BATCH_TASK_HOME": "rel"}).is_absolute()


def test_jobs_are_listed_newest_first_without_array_children(tmp_path: Path) -> None:
    state = LocalState(tmp_path)
    assert state.list_jobs() == [] and state.stamps() == {}
    state.write_job(job("old", 1000))
    state.write_job(job("new", 3000, arrayProperties={"size": 2}))
    state.write_job(job(child_id("new", 1), 3001, arrayProperties={"index": 1}))
    state.write_job(job(child_id("new", 0), 3001, arrayProperties={"index": 0}))
    assert [j["jobId"] for j in state.list_jobs()] == ["new", "old"]
    assert [c["jobId"] for c in state.children("new")] == ["new:0", "new:1"]
    assert sorted(state.stamps()) == ["new", "old"]
    state.write_job(job("old", 1000, status="SUCCEEDED"))
    assert state.read_job("old")["status"] == "SUCCEEDED"
    assert state.read_job("missing") is None
    assert not list(state.job_dir("old").glob(".*")), "no temporary file is left behind"


def test_logs_are_read_from_an_offset_and_only_whole_lines(tmp_path: Path) -> None:
    state = LocalState(tmp_path)
    with state.log_writer("j") as write:
        write({"event": "one"})
        write({"event": "two"})
    events, offset = state.read_logs("j")
    assert [e["event"] for e in events] == ["one", "two"]
    path = state.job_dir("j") / "logs.jsonl"
    with open(path, "a") as file:
        file.write('{"event": "thr')
    assert state.read_logs("j", offset) == ([], offset), "a half-written line waits"
    with open(path, "a") as file:
        file.write('ee"}\n')
    events, end = state.read_logs("j", offset)
    assert [e["event"] for e in events] == ["three"] and end == path.stat().st_size
    assert state.read_logs("missing") == ([], 0)


def test_progress_log_and_latest_progress(tmp_path: Path) -> None:
    state = LocalState(tmp_path)
    path = state.progress_log("j")
    assert path == tmp_path / "jobs" / "j" / "progress.jsonl" and path.read_text() == ""
    assert state.latest_progress("j") is None
    before = state.stamp("j")
    with open(path, "a") as file:
        for n in range(3):
            file.write(json.dumps({"sequence": n, "progress": n / 2}) + "\n")
    assert state.latest_progress("j") == {"sequence": 2, "progress": 1.0}
    assert [e["sequence"] for e in state.read_progress("j")[0]] == [0, 1, 2]
    assert state.stamp("j") >= before > 0


def test_ids_that_could_escape_the_directory_are_never_read(tmp_path: Path) -> None:
    state = LocalState(tmp_path / "home")
    (tmp_path / "job.json").write_text(json.dumps(job("x", 1)))
    for bad in ("..", "../", "a/../..", ".hidden", "", "a/b"):
        assert state.read_job(bad) is None
        assert state.read_logs(bad) == ([], 0)
        assert state.stamp(bad) == 0


def test_a_reader_never_sees_half_a_document(tmp_path: Path) -> None:
    writer = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from runtime.simulator.state import LocalState
        state = LocalState(Path({str(tmp_path)!r}))
        for n in range(400):
            state.write_job({{"jobId": "big", "createdAt": n, "pad": "x" * 200_000}})
        """
    )
    state = LocalState(tmp_path)
    state.write_job({"jobId": "big", "createdAt": -1})
    proc = subprocess.Popen([sys.executable, "-c", writer])
    seen = set()
    while proc.poll() is None:
        document = state.read_job("big")
        assert document is not None, "a read during a rewrite got no document"
        seen.add(document["createdAt"])
    assert proc.returncode == 0
    assert state.read_job("big")["createdAt"] == 399
    assert len(seen) > 1


# What `batch-task local` records, read back through the store as `status`, `logs` and the
# board read it.

RETRY_TEMPORARY = [{"onExitCode": "75", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]
SECRET = "VerySecret-4242"
LEAKY_TASKS = '''
import sys
print("imported with", " ".join(sys.argv), flush=True)
print("imported with", " ".join(sys.argv), file=sys.stderr, flush=True)

from typing import Annotated

from runtime import Secret, task


@task
def leaky(token: Annotated[str, Secret], note: str = "") -> str:
    """Print its secret where the runtime does not log it."""
    print(f"raw print {token}", flush=True)
    print(f"stderr {token}", file=sys.stderr, flush=True)
    return note
'''


def write_definition(
    tmp_path: Path,
    command: list[str],
    *,
    attempts: int = 1,
    parameters: dict[str, str] | None = None,
) -> JobDefinition:
    document = {
        "jobDefinitionName": "recorded",
        "type": "container",
        "parameters": parameters or {},
        "containerProperties": {"image": "batch-task:test", "command": command},
        "retryStrategy": {"attempts": attempts, "evaluateOnExit": RETRY_TEMPORARY},
    }
    path = tmp_path / "jobdef.json"
    path.write_text(json.dumps(document))
    return jobdef.load(path)


def run_local(tmp_path: Path, args: list[str], **env: str) -> tuple[Run, LocalState]:
    home = tmp_path / "home"
    run = run_cli(["local", *args, "--json"], base_env(BATCH_TASK_HOME=str(home), **env), 60)
    return run, LocalState(home)


def test_submit_records_the_job_before_it_runs_and_each_change_under_one_id(
    tmp_path: Path,
) -> None:
    definition = write_definition(tmp_path, ["block", "--seconds", "Ref::seconds"])
    state = LocalState(tmp_path / "home")
    env = {"TASK_MODULES": FIXTURE_TASKS, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json"}
    job = jobs.submit(definition, {"seconds": "1"}, env=env, state=state, tags={"k": "v"})
    recorded = state.read_job(job.job_id)
    assert recorded["status"] == "RUNNABLE" and recorded["attempts"] == []
    assert recorded["tags"] == {"k": "v"} and recorded["jobQueue"] == "local"
    assert recorded["container"]["command"] == ["block", "--seconds", "1"]
    runner = threading.Thread(target=job.run, args=(threading.Event(),))
    runner.start()
    running = wait_until(lambda: _with_status(state, job.job_id, "RUNNING"))
    assert running["startedAt"] >= recorded["createdAt"]
    runner.join(60)
    done = state.read_job(job.job_id)
    assert [state.list_jobs()[0]["jobId"], done["status"]] == [job.job_id, "SUCCEEDED"]
    assert [a["container"]["exitCode"] for a in done["attempts"]] == [0]
    assert done["startedAt"] <= done["stoppedAt"]
    events = [e["event"] for e in state.read_logs(job.job_id)[0]]
    assert events[0] == "task.started" and events[-1] == "task.succeeded"
    assert "block.sleeping" in events
    progress = [e["status"] for e in state.read_progress(job.job_id)[0]]
    assert progress[0] == "STARTING" and progress[-1] == "SUCCEEDED"
    assert state.latest_progress(job.job_id)["job_id"] == job.job_id


def test_a_job_with_dependencies_waits_pending_and_fails_when_one_fails(tmp_path: Path) -> None:
    definition = write_definition(tmp_path, ["env-probe"])
    state = LocalState(tmp_path / "home")
    upstream = [{"jobId": "upstream-job", "type": "SEQUENTIAL"}]
    job = jobs.submit(definition, {}, state=state, depends_on=upstream, array_size=2)
    assert state.read_job(job.job_id)["status"] == "PENDING"
    assert state.read_job(job.job_id)["dependsOn"] == upstream
    job.run(threading.Event(), ready=lambda index: f"Dependent job upstream-job failed ({index})")
    parent = state.read_job(job.job_id)
    assert parent["status"] == "FAILED" and job.exit_code == 1
    assert parent["arrayProperties"]["statusSummary"]["FAILED"] == 2
    assert [c["statusReason"] for c in state.children(job.job_id)] == [
        "Dependent job upstream-job failed (0)",
        "Dependent job upstream-job failed (1)",
    ]
    assert all(c["attempts"] == [] for c in state.children(job.job_id))


def test_a_failing_job_records_failed_with_each_attempts_exit_code(tmp_path: Path) -> None:
    path = write_definition(tmp_path, ["fail", "--kind", "transient"], attempts=3)
    run, state = run_local(tmp_path, [str(tmp_path / "jobdef.json")])
    assert run.returncode == 75, run.stderr
    (recorded,) = state.list_jobs()
    assert recorded == json.loads(run.stdout.splitlines()[-1])["jobs"][0]
    assert recorded["jobDefinition"] == path.name and recorded["status"] == "FAILED"
    assert recorded["statusReason"] == "Essential container in task exited"
    assert [a["container"]["exitCode"] for a in recorded["attempts"]] == [75, 75, 75]
    assert recorded["container"]["exitCode"] == 75
    logged = state.read_logs(recorded["jobId"])[0]
    failed = [e for e in logged if e.get("event") == "task.failed"]
    assert [(e["attempt"], e["exit_code"]) for e in failed] == [(1, 75), (2, 75), (3, 75)]
    finals = [e for e in state.read_progress(recorded["jobId"])[0] if e["status"] == "FAILED"]
    assert [e["attempt"] for e in finals] == [1, 2, 3]


def test_an_array_records_its_children_and_the_parents_status_summary(tmp_path: Path) -> None:
    write_definition(tmp_path, ["env-probe"])
    run, state = run_local(tmp_path, [str(tmp_path / "jobdef.json"), "--array-size", "3"])
    assert run.returncode == 0, run.stderr
    (parent,) = state.list_jobs()
    assert parent["status"] == "SUCCEEDED" and parent["arrayProperties"]["size"] == 3
    summary = parent["arrayProperties"]["statusSummary"]
    assert summary["SUCCEEDED"] == 3 and sum(summary.values()) == 3
    children = state.children(parent["jobId"])
    assert [c["jobId"] for c in children] == [f"{parent['jobId']}:{i}" for i in range(3)]
    assert [c["arrayProperties"] for c in children] == [{"index": i} for i in range(3)]
    for child in children:
        (done,) = [e for e in state.read_logs(child["jobId"])[0] if e["event"] == "task.succeeded"]
        assert done["result"]["array_index"] == child["arrayProperties"]["index"]
        assert done["job_id"] == child["jobId"] and child["status"] == "SUCCEEDED"


@pytest.mark.parametrize("task", ["leaky", "no-such-task"])
def test_a_secret_parameter_is_in_no_recorded_file_nor_output(tmp_path: Path, task: str) -> None:
    (tmp_path / "leaky_tasks.py").write_text(LEAKY_TASKS)
    command = [task, "--token", "Ref::token", "--note", "Ref::note"]
    write_definition(tmp_path, command, parameters={"note": "visible-note"})
    run, state = run_local(
        tmp_path,
        [str(tmp_path / "jobdef.json"), "-p", f"token={SECRET}"],
        TASK_MODULES="leaky_tasks",
        PYTHONPATH=f"{ROOT}:{tmp_path}",
    )
    assert run.returncode == (0 if task == "leaky" else 64), run.stderr
    assert SECRET not in run.stdout + run.stderr
    files = list((tmp_path / "home").rglob("*"))
    assert {f.name for f in files if f.is_file()} == {"job.json", "logs.jsonl", "progress.jsonl"}
    assert all(SECRET not in f.read_text() for f in files if f.is_file())
    (recorded,) = state.list_jobs()
    if task == "leaky":
        assert recorded["parameters"] == {"note": "visible-note", "token": "***"}
        assert recorded["container"]["command"] == [
            task,
            "--token",
            "***",
            "--note",
            "visible-note",
        ]
        lines = {e["event"]: e for e in state.read_logs(recorded["jobId"])[0]}
        assert "imported with" in run.stderr and "token=***" in run.stderr
        assert any(line.endswith("--token *** --note visible-note") for line in lines)
        assert {"raw print ***", "stderr ***"} <= set(lines)
    else:
        assert recorded["parameters"] == {"note": "***", "token": "***"}
        assert recorded["container"]["command"] == [task, "--token", "***", "--note", "***"]


def wait_until(probe: Callable[[], dict[str, Any] | None], timeout: float = 30) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError("the state never showed what was expected")


def _with_status(state: LocalState, job_id: str, status: str) -> dict[str, Any] | None:
    document = state.read_job(job_id)
    return document if document and document["status"] == status else None
