"""The board in a real browser (headless Chromium) over jobs run by `batch-task local`.

What a person sees: the list with a succeeded and a failed job, a job started after the page
loaded appearing and succeeding without a reload, the failed job's exit code, error and log
events, and a workflow run's nodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import base_env, run_cli, start_cli

WAIT = 40


def jobdef(tmp_path: Path, name: str, command: list[str]) -> str:
    path = tmp_path / f"{name}.json"
    document = {
        "jobDefinitionName": name,
        "type": "container",
        "containerProperties": {"image": "batch-task:test", "command": command},
        "retryStrategy": {"attempts": 1},
    }
    path.write_text(json.dumps(document))
    return str(path)


def run_local(definition: str, env: dict[str, str]) -> dict[str, Any]:
    run = run_cli(["local", definition, "--json"], env, timeout=90)
    return json.loads(run.stdout.splitlines()[-1])["jobs"][0]


@pytest.fixture
def local_jobs(tmp_path: Path, board_server: Any) -> dict[str, Any]:
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"), WORKFLOW_STATE=str(tmp_path / "runs"))
    ok = run_local(jobdef(tmp_path, "echo-ok", ["echo", "--message", "all good"]), env)
    failed = run_local(jobdef(tmp_path, "fail-input", ["fail", "--kind", "input"]), env)
    assert (ok["status"], failed["status"]) == ("SUCCEEDED", "FAILED")
    url = board_server(["--local"], env)
    return {"url": url, "env": env, "ok": ok["jobId"], "failed": failed["jobId"], "tmp": tmp_path}


def wait_text(driver: Any, css: str, text: str) -> None:
    WebDriverWait(
        driver, WAIT, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    ).until(
        lambda d: text in d.find_element(By.CSS_SELECTOR, css).text,
        f"{text!r} never appeared in {css}",
    )


def row_status(driver: Any, job_id: str) -> str | None:
    """The status a row shows, read in one step (rows are replaced as their job changes)."""
    return driver.execute_script(
        "const el = document.querySelector(`tr[data-job='${arguments[0]}'] .status`);"
        "return el ? el.textContent : null;",
        job_id,
    )


def test_the_list_shows_both_jobs_and_a_new_one_runs_to_success_without_reload(
    browser: Any, local_jobs: dict[str, Any]
) -> None:
    browser.get(local_jobs["url"] + "/")
    wait_text(browser, "#jobs", "echo-ok")
    assert row_status(browser, local_jobs["ok"]) == "SUCCEEDED"
    assert row_status(browser, local_jobs["failed"]) == "FAILED"
    assert "fail-input" in browser.find_element(By.ID, "jobs").text
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map((r) => r.name)"
    )
    assert fetched and all(url.startswith(local_jobs["url"]) for url in fetched), fetched
    browser.execute_script("window.stillTheSamePage = true")
    slow = jobdef(
        local_jobs["tmp"], "echo-late", ["echo", "--steps", "5", "--delay", "0.8", "--message", "x"]
    )
    proc = start_cli(["local", slow], local_jobs["env"])
    try:
        wait_text(browser, "#jobs", "echo-late")
        late = browser.execute_script(
            "return [...document.querySelectorAll('tr[data-job]')]"
            ".find((tr) => tr.textContent.includes('echo-late')).dataset.job"
        )
        seen: set[str] = set()
        WebDriverWait(browser, WAIT, poll_frequency=0.1).until(
            lambda d: seen.add(row_status(d, late) or "") or "SUCCEEDED" in seen
        )
        assert "RUNNING" in seen, seen
        assert browser.execute_script("return window.stillTheSamePage") is True
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_the_failed_job_shows_its_exit_code_error_and_log_events(
    browser: Any, local_jobs: dict[str, Any]
) -> None:
    browser.get(f"{local_jobs['url']}/jobs/{local_jobs['failed']}")
    wait_text(browser, "#error", "InputError")
    assert "fixture failure of kind input" in browser.find_element(By.ID, "error").text
    assert "exit code 65" in browser.find_element(By.ID, "error").text
    wait_text(browser, "#attempts", "65")
    wait_text(browser, "#logs", "task.failed")
    assert "task.started" in browser.find_element(By.ID, "logs").text
    assert browser.find_element(By.ID, "status").text == "FAILED"


def test_filters_and_keyboard_open_a_job(browser: Any, local_jobs: dict[str, Any]) -> None:
    browser.get(local_jobs["url"] + "/")
    wait_text(browser, "#jobs", "echo-ok")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    browser.switch_to.active_element.send_keys("fail-in")
    WebDriverWait(browser, WAIT).until(
        lambda d: "echo-ok" not in d.find_element(By.ID, "jobs").text
    )
    assert "fail-input" in browser.find_element(By.ID, "jobs").text
    browser.find_element(By.ID, "main").click()
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue007")  # Enter opens the selected row
    WebDriverWait(browser, WAIT).until(lambda d: "/jobs/" in d.current_url)
    assert local_jobs["failed"] in browser.current_url


def test_a_workflow_run_shows_its_nodes_linked_to_their_jobs(
    browser: Any, local_jobs: dict[str, Any]
) -> None:
    run_id = "nightly-mosaic-20261130T000000-a1b2"
    record = {
        "run_id": run_id,
        "workflow": "nightly-mosaic",
        "inputs": {"out": "/tmp/out"},
        "created_at": "2026-11-30T00:00:00.000Z",
        "nodes": {
            "ingest": {
                "job_id": local_jobs["ok"], "array_size": None, "depends_on": [],
                "status": "SUCCEEDED", "status_reason": None, "children": {},
            },
            "mosaic": {
                "job_id": local_jobs["failed"], "array_size": None, "depends_on": ["ingest"],
                "status": "FAILED", "status_reason": None, "children": {},
            },
            "publish": {
                "job_id": None, "array_size": None, "depends_on": ["mosaic"], "status": "FAILED",
                "status_reason": "dependency mosaic failed", "children": {},
            },
        },
        "barriers": [],
    }  # fmt: skip
    folder = Path(local_jobs["env"]["WORKFLOW_STATE"]) / run_id
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(record))
    browser.get(f"{local_jobs['url']}/runs/{run_id}")
    wait_text(browser, "#graph", "publish")
    nodes = {
        n.get_attribute("data-node"): n for n in browser.find_elements(By.CSS_SELECTOR, ".node")
    }
    assert set(nodes) == {"ingest", "mosaic", "publish"}
    assert "SUCCEEDED" in nodes["ingest"].text and "FAILED" in nodes["mosaic"].text
    assert "dependency mosaic failed" in nodes["publish"].text
    assert nodes["mosaic"].get_attribute("href").endswith(f"/jobs/{local_jobs['failed']}")


def test_an_array_is_one_row_and_its_page_a_grid_of_children(
    browser: Any, local_jobs: dict[str, Any]
) -> None:
    definition = jobdef(local_jobs["tmp"], "echo-array", ["echo", "--message", "child"])
    run = run_cli(["local", definition, "--array-size", "3", "--json"], local_jobs["env"], 90)
    parent = json.loads(run.stdout.splitlines()[-1])["jobs"][0]["jobId"]
    browser.get(local_jobs["url"] + "/")
    wait_text(browser, "#jobs", "echo-array")
    assert (
        browser.execute_script(
            "return document.querySelectorAll(`tr[data-job^='${arguments[0]}']`).length", parent
        )
        == 1
    )
    wait_text(browser, f'tr[data-job="{parent}"]', "3 SUCCEEDED")
    browser.get(f"{local_jobs['url']}/jobs/{parent}")
    wait_text(browser, "#children", "3 SUCCEEDED")
    cells = browser.find_elements(By.CSS_SELECTOR, "#cells a")
    assert [c.get_attribute("aria-label") for c in cells] == [
        f"child {i}: SUCCEEDED" for i in range(3)
    ]
    cells[1].click()
    wait_text(browser, "#logs", "task.succeeded")
    assert unquote(browser.current_url).endswith(f"/jobs/{parent}:1")


def test_a_waiting_job_says_why(browser: Any, local_jobs: dict[str, Any]) -> None:
    from runtime.simulator.state import LocalState

    reason = "waiting for capacity: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    state = LocalState(Path(local_jobs["env"]["BATCH_TASK_HOME"]))
    state.write_job(
        {
            "jobId": "waiting-job",
            "jobName": "stuck",
            "jobQueue": "local",
            "status": "RUNNABLE",
            "statusReason": reason,
            "createdAt": 1795996800000,
            "parameters": {},
            "container": {"command": ["echo"]},
            "attempts": [],
        }
    )
    browser.get(f"{local_jobs['url']}/jobs/waiting-job")
    wait_text(browser, "#waiting", "Why it is RUNNABLE")
    assert reason in browser.find_element(By.ID, "waiting").text


def test_a_running_jobs_page_follows_its_progress_and_logs_live(
    browser: Any, local_jobs: dict[str, Any]
) -> None:
    slow = jobdef(
        local_jobs["tmp"],
        "echo-follow",
        ["echo", "--steps", "8", "--delay", "0.6", "--message", "y"],
    )
    proc = start_cli(["local", slow], local_jobs["env"])
    try:
        browser.get(local_jobs["url"] + "/")
        wait_text(browser, "#jobs", "echo-follow")
        browser.execute_script(
            "[...document.querySelectorAll('#jobs a')]"
            ".find((a) => a.textContent === 'echo-follow').click()"
        )
        wait_text(browser, "#logs", "task.started")
        wait_text(browser, "#progress", "step")
        wait_text(browser, "#logs", "task.progress")
        wait_text(browser, "#logs", "task.succeeded")
        wait_text(browser, "#status", "SUCCEEDED")
        wait_text(browser, "#log-state", "still polling for late lines")
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0
