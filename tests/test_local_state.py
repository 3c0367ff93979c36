"""The local state store read and written as `local`, `status`, `logs` and the board use it.

The store is files under BATCH_TASK_HOME; these tests write through its API and read back
what another process would see, including while a writer in another process keeps changing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from runtime.simulator.state import LocalState, child_id, home
from tests.conftest import ROOT


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
