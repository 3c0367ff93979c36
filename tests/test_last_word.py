"""The job's last word arrives however the task ends: crashed in native code or killed by the
out-of-memory killer, checked at every place a user would look (SPEC "The job's last word")."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import Run, base_env, parse_events, run_cli, start_cli, wait_for_event
from tests.fixtures.progress_http import ProgressServer
from tests.fixtures.rsyslog import Rsyslog


def cloudwatch_messages(group: str) -> list[str]:
    logs = boto3.client("logs")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1, streams
    page = logs.get_log_events(
        logGroupName=group, logStreamName=streams[0]["logStreamName"], startFromHead=True
    )
    return [e["message"] for e in page["events"]]


def sink_env(aws_env: dict[str, str], rsyslog: Rsyslog, progress: ProgressServer, ca: Path) -> dict:
    return base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=f"/batch-task/last-word-{uuid.uuid4().hex[:8]}",
        PAPERTRAIL_URL=rsyslog.url("tls"),
        SSL_CERT_FILE=str(ca),
        PROGRESS_URL=progress.url,
    )


def check_last_word(
    run: Run,
    env: dict[str, str],
    rsyslog: Rsyslog,
    progress: ProgressServer,
    *,
    code: int,
    error_type: str,
    signal_name: str,
) -> None:
    assert run.returncode == code, run.stdout + run.stderr
    failed = run.one("task.failed")
    assert (failed["error_type"], failed["signal"], failed["exit_code"]) == (
        error_type,
        signal_name,
        code,
    )
    assert run.events[-1]["event"] == "task.failed"
    assert not run.named("task.succeeded")

    finals = [e for e in progress.accepted() if e["status"] in ("SUCCEEDED", "FAILED")]
    assert [(e["status"], e["error"]["exit_code"]) for e in finals] == [("FAILED", code)]

    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert cloudwatch_messages(env["CLOUDWATCH_LOG_GROUP"]) == lines
    received = rsyslog.wait_for("tls", len(lines))
    assert [json.loads(r.message) for r in received] == [json.loads(x) for x in lines]


def test_a_crash_in_native_code_still_reports_everything(
    aws_env: dict[str, str],
    rsyslog: Rsyslog,
    progress_http: ProgressServer,
    tls_ca: tuple[Any, Path],
) -> None:
    env = sink_env(aws_env, rsyslog, progress_http, tls_ca[1])
    run = run_cli(["segfault", "--lines", "200"], env)

    check_last_word(
        run, env, rsyslog, progress_http, code=139, error_type="Crashed", signal_name="SIGSEGV"
    )
    assert len(run.named("segfault.line")) == 200
    printed = [e for e in run.events if e["event"] == "printed before the crash"]
    assert [e["logger"] for e in printed] == ["task.stdout"]
    assert "inside GDAL" in run.one("task.failed")["error"]


def test_the_out_of_memory_killer_still_leaves_the_last_word(
    aws_env: dict[str, str],
    rsyslog: Rsyslog,
    progress_http: ProgressServer,
    tls_ca: tuple[Any, Path],
    tmp_path: Path,
) -> None:
    env = sink_env(aws_env, rsyslog, progress_http, tls_ca[1])
    marker = tmp_path / "pid"
    proc = start_cli(["hog", "--megabytes", "150", "--lines", "100", "--marker", str(marker)], env)
    before = wait_for_event(proc, "task.progress")
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.05)
    largest = _largest_in_tree(proc.pid)
    assert largest == int(marker.read_text()), "the task's process holds the memory"
    assert int(Path(f"/proc/{largest}/oom_score_adj").read_text()) == 1000
    os.kill(largest, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    stdout = "".join(before) + out
    run = Run(proc.returncode, stdout, err, parse_events(stdout))

    check_last_word(
        run, env, rsyslog, progress_http, code=137, error_type="Killed", signal_name="SIGKILL"
    )
    assert len(run.named("hog.line")) == 100
    assert "out-of-memory" in run.one("task.failed")["error"]


def test_a_task_killed_by_another_signal_exits_128_plus_n(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    proc = start_cli(["hog", "--megabytes", "1", "--marker", str(marker)], base_env())
    before = wait_for_event(proc, "task.progress")
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.05)
    os.kill(int(marker.read_text()), signal.SIGABRT)
    out, _ = proc.communicate(timeout=30)
    run = Run(proc.returncode, "".join(before) + out, "", parse_events("".join(before) + out))
    assert run.returncode == 128 + signal.SIGABRT
    failed = run.one("task.failed")
    assert (failed["error_type"], failed["signal"]) == ("Crashed", "SIGABRT")


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_outside_the_logger_becomes_events(stream: str, tmp_path: Path) -> None:
    module = tmp_path / "printer.py"
    module.write_text(
        "import os, sys\nfrom runtime import task\n\n@task\ndef printer() -> None:\n"
        f"    print('from print', file=sys.{stream}, flush=True)\n"
        f"    os.write({1 if stream == 'stdout' else 2}, b'from the C level\\n')\n"
    )
    env = base_env(TASK_MODULES="printer", PYTHONPATH=f"{tmp_path}:{base_env()['PYTHONPATH']}")
    run = run_cli(["printer"], env)
    assert run.returncode == 0, run.stderr
    level = "info" if stream == "stdout" else "warning"
    got = [(e["event"], e["logger"], e["level"]) for e in run.events if e["logger"] != "runtime"]
    assert got == [
        ("from print", f"task.{stream}", level),
        ("from the C level", f"task.{stream}", level),
    ]
    assert run.stderr == ""


def _largest_in_tree(root: int) -> int:
    """The process of `root`'s tree with the largest resident set, as the OOM killer picks."""
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    return max(tree, key=lambda pid: int(Path(f"/proc/{pid}/statm").read_text().split()[1]))


def test_a_killed_task_leaves_no_multipart_upload_open(
    aws_env: dict[str, str], s3: Any, bucket: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pid"
    args = ["--bucket", bucket, "--key", "out/big.tif", "--marker", str(marker)]
    proc = start_cli(["upload-then-hang", *args], base_env(**aws_env))
    before = wait_for_event(proc, "upload.open")
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
    os.kill(int(marker.read_text()), signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    run = Run(proc.returncode, "".join(before) + out, err, parse_events("".join(before) + out))

    assert run.returncode == 137, run.stdout + run.stderr
    aborted = run.one("upload.aborted")
    assert aborted["uri"] == f"s3://{bucket}/out/big.tif"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert run.events[-1]["event"] == "task.failed"
