"""The command line a user and AWS Batch see: list, describe, help, registration, log keys."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, base_env, run_cli

SIX_LINE_TASK = '''\
from runtime import TaskContext, task

@task
def greet(ctx: TaskContext, who: str, times: int = 1) -> str:
    """Greet someone, several times."""
    return " ".join([f"hello {who}"] * times)
'''


def env_with(tmp_path: Path, modules: str) -> dict[str, str]:
    return base_env(PYTHONPATH=f"{tmp_path}:{ROOT}", TASK_MODULES=modules)


def test_a_users_six_line_task_runs_with_typed_parameters(tmp_path: Path) -> None:
    (tmp_path / "my_tasks.py").write_text(SIX_LINE_TASK)
    env = env_with(tmp_path, "my_tasks")
    listed = run_cli(["list"], env)
    assert re.search(r"^greet\s+Greet someone, several times\.$", listed.stdout, re.M)
    run = run_cli(["greet", "--who", "batch", "--times", "2"], env)
    assert run.returncode == 0
    assert run.one("task.succeeded")["result"] == "hello batch hello batch"
    assert run_cli(["run", "greet", "--who", "x"], env).returncode == 0


def test_list_json_has_the_builtins_and_summaries() -> None:
    run = run_cli(["list", "--json"])
    tasks = {t["name"]: t["summary"] for t in json.loads(run.stdout)}
    assert tasks["echo"].startswith("Log a message")
    assert "make-sure-names-are-dashed" not in tasks
    assert "env-probe" in tasks, "function names register with '-' for '_'"


def test_describe_json_lists_parameters_with_types_defaults_and_secrets() -> None:
    run = run_cli(["describe", "typed", "--json"])
    assert run.returncode == 0
    params = {p["name"]: p for p in json.loads(run.stdout)["parameters"]}
    assert params["name"] == {
        "name": "name",
        "flag": "--name",
        "type": "str",
        "required": True,
        "default": None,
        "secret": False,
        "help": "any text.",
    }
    assert params["items"]["type"] == "list[str] | None"
    assert params["mode"]["type"] == "fast | slow"
    assert params["color"]["default"] == "red"
    assert params["token"]["secret"] is True
    assert "ctx" not in params


def test_describe_text_and_task_help() -> None:
    text = run_cli(["describe", "echo"]).stdout
    assert "--steps (int; default 5)" in text
    assert "how many progress steps to report." in text
    assert run_cli(["echo", "--help"]).stdout == text


def test_help_and_version_answer_without_heavy_imports() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from runtime.cli import main\n"
        "for args in (['--help'], ['--version'], ['list'], ['describe', 'echo']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(args) == 0, args\n"
        "heavy = [m for m in ('boto3', 'botocore', 'rasterio', 'structlog') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=base_env(), cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_console_script_and_module_print_the_same_help() -> None:
    script = Path(sys.executable).with_name("batch-task")
    a = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=base_env())
    b = run_cli(["--help"])
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert "batch-task TASK" in a.stdout
    assert run_cli(["--version"]).stdout.startswith("batch-task ")


def test_no_arguments_is_a_usage_error() -> None:
    run = run_cli([])
    assert run.returncode == 64
    assert "usage:" in run.stdout


def test_reserved_names_are_refused_at_registration(tmp_path: Path) -> None:
    (tmp_path / "bad_tasks.py").write_text(
        "from runtime import task\n\n@task(name='list')\ndef f() -> None:\n    pass\n"
    )
    run = run_cli(["list"], env_with(tmp_path, "bad_tasks"))
    assert run.returncode == 64
    assert "'list' is reserved" in run.stderr


def test_a_missing_task_module_names_the_module(tmp_path: Path) -> None:
    run = run_cli(["list"], env_with(tmp_path, "no_such_module"))
    assert run.returncode == 64
    assert "TASK_MODULES' 'no_such_module'" in run.stderr


def test_tasks_register_through_entry_points(tmp_path: Path) -> None:
    dist = tmp_path / "plugin_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[batch_task.tasks]\ngreet = plugin_tasks\n")
    (tmp_path / "plugin_tasks.py").write_text(SIX_LINE_TASK)
    env = env_with(tmp_path, "")
    run = run_cli(["greet", "--who", "plugin"], env)
    assert run.returncode == 0, run.stderr
    assert run.one("task.succeeded")["result"] == "hello plugin"


TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_every_event_has_the_spec_keys() -> None:
    run = run_cli(["echo", "--steps", "1"])
    assert run.events
    for event in run.events:
        assert list(event)[:7] == [
            "timestamp",
            "level",
            "event",
            "logger",
            "task",
            "job_id",
            "attempt",
        ]
        assert TIMESTAMP.match(event["timestamp"])
        assert event["task"] == "echo"
        assert event["job_id"].startswith("local-")
        assert event["attempt"] == 1
        assert "array_index" not in event


def test_batch_variables_become_job_keys() -> None:
    env = base_env(
        AWS_BATCH_JOB_ID="5a1e:3",
        AWS_BATCH_JOB_ATTEMPT="2",
        AWS_BATCH_JOB_ARRAY_INDEX="3",
        AWS_BATCH_JQ_NAME="queue-a",
        AWS_BATCH_CE_NAME="ce-spot",
    )
    run = run_cli(["env-probe"], env)
    for event in run.events:
        assert (event["job_id"], event["attempt"], event["array_index"]) == ("5a1e:3", 2, 3)
        assert (event["queue"], event["compute_environment"]) == ("queue-a", "ce-spot")
    result = run.one("task.succeeded")["result"]
    assert (result["job_id"], result["attempt"], result["array_index"]) == ("5a1e:3", 2, 3)


def test_log_level_filters_and_console_format_is_readable() -> None:
    quiet = run_cli(["echo", "--steps", "1"], base_env(LOG_LEVEL="error"))
    assert quiet.events == []
    console = run_cli(["echo", "--steps", "1"], base_env(LOG_FORMAT="console"))
    assert not console.stdout.lstrip().startswith("{")
    assert "task.succeeded" in console.stdout


def test_library_warnings_reach_the_same_stream(tmp_path: Path) -> None:
    (tmp_path / "warn_tasks.py").write_text(
        "import logging\nfrom runtime import task\n\n@task\ndef warn() -> None:\n"
        "    logging.getLogger('botocore.thing').warning('disk %s', 'low')\n"
    )
    run = run_cli(["warn"], env_with(tmp_path, "warn_tasks"))
    event = run.one("disk low")
    assert (event["logger"], event["level"], event["task"]) == ("botocore.thing", "warning", "warn")


def test_aws_secrets_in_the_environment_never_reach_the_log(tmp_path: Path) -> None:
    (tmp_path / "leak_tasks.py").write_text(
        "import os\nfrom runtime import TaskContext, task\n\n@task\n"
        "def leak(ctx: TaskContext) -> str:\n"
        "    ctx.log.info('leak', key=os.environ['AWS_SECRET_ACCESS_KEY'])\n"
        "    raise RuntimeError('token ' + os.environ['PROGRESS_TOKEN'])\n"
    )
    env = env_with(tmp_path, "leak_tasks")
    env.update(AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG", PROGRESS_TOKEN="tok-12345")
    run = run_cli(["leak"], env)
    assert run.returncode == 70
    assert "wJalrXUtnFEMI" not in run.stdout
    assert "tok-12345" not in run.stdout
    assert run.one("leak")["key"] == "***"


def test_a_reader_that_goes_away_is_not_a_bug() -> None:
    """`batch-task describe export | head -1`: exit as SIGPIPE would (141), silently."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime", "describe", "export"],
        env=base_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    error = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert error == ""
