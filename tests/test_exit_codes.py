"""Every row of SPEC's exit-code table, observed from outside as Batch observes it."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import base_env, run_cli, signal_and_collect, start_cli, wait_for_event

FAILURES = [
    ("usage", 64, "UsageError", False),
    ("input", 65, "InputError", False),
    ("notfound", 66, "InputNotFound", False),
    ("bug", 70, "ZeroDivisionError", False),
    ("output", 73, "OutputError", False),
    ("transient", 75, "TransientError", True),
    ("denied", 77, "PermissionDenied", False),
]


def test_success_is_0_with_result_and_duration() -> None:
    run = run_cli(["echo", "--message", "hi", "--steps", "2"])
    assert run.returncode == 0
    done = run.one("task.succeeded")
    assert done["result"]["message"] == "hi"
    assert done["duration_seconds"] >= 0
    assert not run.named("task.failed")


@pytest.mark.parametrize(("kind", "code", "error_type", "retryable"), FAILURES)
def test_task_failures_map_to_their_exit_codes(
    kind: str, code: int, error_type: str, retryable: bool
) -> None:
    run = run_cli(["fail", "--kind", kind])
    assert run.returncode == code
    run.one("task.started")
    failed = run.one("task.failed")
    assert (failed["exit_code"], failed["error_type"], failed["retryable"]) == (
        code,
        error_type,
        retryable,
    )
    assert not run.named("task.succeeded")


def test_a_bug_logs_its_traceback_as_one_event() -> None:
    run = run_cli(["fail", "--kind", "bug"])
    failed = run.one("task.failed")
    assert "Traceback (most recent call last)" in failed["exception"]
    assert "ZeroDivisionError: division by zero in the fixture" in failed["exception"]
    assert run.stderr == ""


def test_unknown_task_is_64_with_a_suggestion() -> None:
    run = run_cli(["ehco"])
    assert run.returncode == 64
    assert "unknown task 'ehco'; did you mean 'echo'?" in run.stderr


def _blocked(extra_env: dict[str, str] | None = None, *args: str):  # type: ignore[no-untyped-def]
    proc = start_cli(["block", *args], base_env(**(extra_env or {})))
    return proc, wait_for_event(proc, "block.sleeping")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_interrupts_a_task_blocked_in_a_long_call(
    signum: int, code: int, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelled"
    proc, before = _blocked(None, "--marker", str(marker))
    sent = time.monotonic()
    run = signal_and_collect(proc, signum, before)
    took = time.monotonic() - sent
    assert run.returncode == code
    failed = run.one("task.failed")
    assert failed["exit_code"] == code
    assert failed["error_type"] == "Interrupted"
    assert marker.read_text() == "cancel callback ran", "on_cancel callbacks must run"
    assert took < 10, f"exit took {took:.1f}s; Batch kills 30 s after SIGTERM"


def test_timeout_cancels_with_124() -> None:
    started = time.monotonic()
    run = run_cli(["block"], base_env(TASK_TIMEOUT="1"))
    assert run.returncode == 124
    failed = run.one("task.failed")
    assert failed["error_type"] == "Timeout"
    assert "TASK_TIMEOUT of 1 s" in failed["error"]
    assert time.monotonic() - started < 10


def test_a_task_that_finishes_before_the_timeout_succeeds() -> None:
    run = run_cli(["block", "--seconds", "0.2"], base_env(TASK_TIMEOUT="30"))
    assert run.returncode == 0
    assert run.one("task.succeeded")["result"] == "woke up"


def test_bad_task_timeout_is_a_usage_error() -> None:
    run = run_cli(["echo"], base_env(TASK_TIMEOUT="soon"))
    assert run.returncode == 64
    assert "TASK_TIMEOUT='soon'" in run.one("task.failed")["error"]


def test_scratch_directory_exists_during_the_task_and_is_removed_after() -> None:
    run = run_cli(["env-probe"])
    result = run.one("task.succeeded")["result"]
    assert result["scratch_existed"]
    assert not Path(result["scratch"]).exists()


def test_scratch_dir_is_created_under_scratch_dir(tmp_path: Path) -> None:
    run = run_cli(["env-probe"], base_env(SCRATCH_DIR=str(tmp_path / "new")))
    scratch = Path(run.one("task.succeeded")["result"]["scratch"])
    assert scratch.parent == tmp_path / "new"
    assert list((tmp_path / "new").iterdir()) == []


def test_result_that_is_not_json_is_a_bug(tmp_path: Path) -> None:
    module = tmp_path / "odd_task.py"
    module.write_text(
        "from runtime import task\n\n@task\ndef odd() -> object:\n    return object()\n"
    )
    env = base_env(PYTHONPATH=f"{tmp_path}:{base_env()['PYTHONPATH']}", TASK_MODULES="odd_task")
    run = run_cli(["odd"], env)
    assert run.returncode == 70
    assert run.one("task.failed")["error_type"] == "ResultNotSerializable"
    json.dumps(run.events)
