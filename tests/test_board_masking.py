"""The board masks secrets, not words: seen in a real browser, the API and the events stream.

Two local jobs of tasks the board cannot load. One ran for real with `batch-task local`, its
module named only by its definition's environment and gone by the time the board starts: its
error must read as the task wrote it. The other is recorded as AWS shows a job (parameters and
command as submitted, a token in its status reason, progress and logs), so what keeps the
token off the board is the board's own masking.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from runtime.simulator.state import LocalState
from tests.conftest import base_env, run_cli
from tests.test_board_api import get, read_events
from tests.test_board_browser import wait_text
from tests.test_jobdef_environment import MODULE, definition

TOKEN = "tok-5b1f0c9e7d3a4f2b8c6e1a9d0f7b3c5e"[:32]
RECORDED = "recorded-job"


@pytest.fixture
def board(tmp_path: Path, board_server: Any) -> dict[str, Any]:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "acc_tasks.py").write_text(MODULE)
    path = definition(tmp_path, "acc", {"TASK_MODULES": "acc_tasks", "PYTHONPATH": str(modules)})
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"), WORKFLOW_STATE=str(tmp_path / "runs"))
    args = ["-p", f"out={tmp_path}/x", "-p", "kind=input", "--json"]
    run = run_cli(["local", path, *args], env)
    assert run.returncode == 65, run.stderr
    failed = json.loads(run.stdout.splitlines()[-1])["jobs"][0]["jobId"]
    shutil.rmtree(modules)
    record(LocalState(tmp_path / "home"))
    url = board_server(["--local"], env)
    return {"url": url, "failed": failed}


def record(state: LocalState) -> None:
    """A failed job of an unknown task, with its token wherever a job's text can carry it."""
    now = int(time.time() * 1000)
    state.write_job(
        {
            "jobId": RECORDED, "jobName": "mystery-job", "jobQueue": "local", "status": "FAILED",
            "statusReason": f"Essential container exited; token {TOKEN} refused",
            "createdAt": now, "startedAt": now, "stoppedAt": now + 1000,
            "parameters": {"key": TOKEN, "mode": "input"},
            "container": {"command": ["mystery", "--key", TOKEN, "--mode", "input"],
                          "exitCode": 77},
            "attempts": [{"container": {"exitCode": 77, "reason": None}, "startedAt": now,
                          "stoppedAt": now + 1000, "statusReason": f"refused {TOKEN}"}],
        }
    )  # fmt: skip
    base = {"logger": "runtime", "task": "mystery", "job_id": RECORDED, "attempt": 1}
    with state.log_writer(RECORDED) as write:
        write({**base, "event": "task.started", "level": "info", "params": {"key": TOKEN}})
        write({**base, "event": "mystery.auth", "level": "info", "note": f"bad input {TOKEN}"})
        write(
            {**base, "event": "task.failed", "level": "error", "error_type": "PermissionDenied",
             "error": f"bad input: token {TOKEN} was refused", "exit_code": 77,
             "retryable": False}
        )  # fmt: skip
    progress = {"job_id": RECORDED, "status": "FAILED", "progress": 0.5, "stage": "input",
                "message": f"sent {TOKEN}", "sequence": 3}  # fmt: skip
    state.progress_log(RECORDED).write_text(json.dumps(progress) + "\n")


def test_a_failed_job_of_a_task_the_board_cannot_load_shows_its_error_intact(
    browser: Any, board: dict[str, Any]
) -> None:
    browser.get(f"{board['url']}/jobs/{board['failed']}")
    wait_text(browser, "#error", "InputError")
    error = browser.find_element(By.ID, "error").text
    assert "bad pixels in the acceptance input" in error
    assert "exit code 65" in error
    wait_text(browser, "#attempts", "65")
    wait_text(browser, "#logs", "task.failed")
    assert "bad pixels in the acceptance input" in browser.find_element(By.ID, "logs").text
    detail = get(f"{board['url']}/api/jobs/{board['failed']}")
    assert detail["error"]["message"] == "bad pixels in the acceptance input"
    assert detail["parameters"]["kind"] == "***"  # a task it can't load: masked where it stands


def test_a_long_token_is_masked_everywhere_and_short_words_stay(
    browser: Any, board: dict[str, Any]
) -> None:
    url = board["url"]
    browser.get(f"{url}/jobs/{RECORDED}")
    wait_text(browser, "#error", "PermissionDenied")
    wait_text(browser, "#logs", "mystery.auth")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "bad input: token *** was refused" in page
    assert TOKEN not in page and TOKEN not in browser.page_source
    detail = get(f"{url}/api/jobs/{RECORDED}")
    assert detail["command"] == ["mystery", "--key", "***", "--mode", "***"]
    assert detail["parameters"] == {"key": "***"}
    assert detail["status_reason"] == "Essential container exited; token *** refused"
    assert detail["last_progress"]["stage"] == "input"
    logs = get(f"{url}/api/jobs/{RECORDED}/logs")
    assert [e.get("note") for e in logs if e["event"] == "mystery.auth"] == ["bad input ***"]
    for path in ("/api/jobs", f"/api/jobs/{RECORDED}", f"/api/jobs/{RECORDED}/logs"):
        assert TOKEN not in json.dumps(get(url + path)), path
    last = get(f"{url}/api/stats")["last_event_id"]
    stream = read_events(url, str(last - 2), count=2)
    assert {e["data"]["job_id"] for e in stream} == {RECORDED, board["failed"]}
    assert TOKEN not in json.dumps(stream)
