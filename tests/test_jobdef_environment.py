"""The job definition is the truth: a task module named only in its `environment` is found.

Here the task module lives in a folder of its own, named by the definition's `PYTHONPATH` and
`TASK_MODULES` and by nothing in the operator's environment: every laptop command must load it
as the job does, and say which module failed, and where it was named, when it can't.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import base_env, run_cli

MODULE = '''
from typing import Annotated, Literal

from runtime import InputError, Secret, TaskContext, task


@task(name="acc-mark")
def acc_mark(
    ctx: TaskContext,
    out: str,
    kind: Literal["input", "output"] = "output",
    token: Annotated[str, Secret] = "",
) -> dict:
    """Mark a file; fail with an InputError naming `kind` when asked to."""
    if kind == "input":
        raise InputError(f"bad pixels in the acceptance {kind}")
    with open(out, "a") as handle:
        handle.write("marked\\n")
    return {"out": out}
'''


def definition(folder: Path, name: str, environment: dict[str, str]) -> str:
    document = {
        "jobDefinitionName": name,
        "type": "container",
        "parameters": {"kind": "output"},
        "containerProperties": {
            "image": "batch-task:test",
            "command": ["acc-mark", "--out", "Ref::out", "--kind", "Ref::kind"],
            "environment": [{"name": k, "value": v} for k, v in environment.items()],
        },
        "retryStrategy": {"attempts": 1},
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document))
    return str(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    modules = tmp_path / "acceptance-modules"
    modules.mkdir()
    (modules / "acc_tasks.py").write_text(MODULE)
    definition(tmp_path, "acc", {"TASK_MODULES": "acc_tasks", "PYTHONPATH": str(modules)})
    definition(tmp_path, "acc-broken", {"TASK_MODULES": "acc_tasks_gone"})
    return tmp_path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The operator's environment: no TASK_MODULES, nothing on PYTHONPATH for acc_tasks."""
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"), WORKFLOW_STATE=str(tmp_path / "runs"))
    env.pop("TASK_MODULES")
    return env


def flow(folder: Path, definition: str = "acc.json") -> str:
    text = f"""\
name: acceptance
inputs:
  out: {{}}
nodes:
  first:
    job_definition: {definition}
    params: {{out: "{{inputs.out}}/first.txt"}}
  second:
    job_definition: {definition}
    depends_on: [first]
    params: {{out: "{{inputs.out}}/second.txt"}}
"""
    path = folder / f"flow-{Path(definition).stem}.yaml"
    path.write_text(text)
    return str(path)


def test_local_runs_the_definition(folder: Path, env: dict[str, str]) -> None:
    out = folder / "local.txt"
    run = run_cli(["local", str(folder / "acc.json"), "-p", f"out={out}"], env)
    assert run.returncode == 0, run.stderr
    assert out.read_text() == "marked\n"


def test_workflow_validate_accepts_it_and_checks_its_parameters(
    folder: Path, env: dict[str, str]
) -> None:
    good = run_cli(["workflow", "validate", flow(folder), "-p", f"out={folder}"], env)
    assert good.returncode == 0, good.stderr
    bad = folder / "bad.yaml"
    bad.write_text(
        "name: bad\nnodes:\n  only:\n    job_definition: acc.json\n"
        "    params: {out: x, kind: sideways}\n"
    )
    refused = run_cli(["workflow", "validate", str(bad)], env)
    assert refused.returncode == 64
    assert "--kind" in refused.stderr and "expected one of input, output" in refused.stderr


def test_workflow_local_runs_both_nodes(folder: Path, env: dict[str, str]) -> None:
    run = run_cli(["workflow", "local", flow(folder), "-p", f"out={folder}"], env)
    assert run.returncode == 0, run.stderr
    assert (folder / "first.txt").read_text() == "marked\n"
    assert (folder / "second.txt").read_text() == "marked\n"


def test_workflow_submit_dry_run_prints_the_requests(folder: Path, env: dict[str, str]) -> None:
    env = {**env, "WORKFLOW_STATE": "s3://acceptance-state/runs", "AWS_DEFAULT_REGION": "eu-west-1"}
    run = run_cli(
        ["workflow", "submit", flow(folder), "--queue", "q", "-p", "out=s3://b/o", "--dry-run"],
        env,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count('"jobDefinition"') == 2


def test_submit_dry_run_validates_against_the_definitions_task(
    folder: Path, env: dict[str, str]
) -> None:
    args = ["submit", str(folder / "acc.json"), "--queue", "q", "--dry-run"]
    run = run_cli([*args, "-p", "out=s3://b/o"], env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["parameters"] == {"out": "s3://b/o"}
    typo = run_cli([*args, "-p", "out=s3://b/o", "-p", "kind=inptu"], env)
    assert typo.returncode == 64 and "expected one of input, output" in typo.stderr


def test_a_module_that_cannot_be_imported_is_named_once_with_its_definition(
    folder: Path, env: dict[str, str]
) -> None:
    run = run_cli(["workflow", "validate", flow(folder, "acc-broken.json"), "-p", "out=o"], env)
    assert run.returncode == 64
    assert "unknown task" not in run.stderr
    assert "1 problem:" in run.stderr, run.stderr
    assert "nodes 'first', 'second'" in run.stderr and "module 'acc_tasks_gone'" in run.stderr
    assert "acc-broken.json" in run.stderr and "TASK_MODULES from its environment" in run.stderr


def test_local_says_why_it_masks_every_parameter_of_a_task_it_cannot_load(
    folder: Path, env: dict[str, str]
) -> None:
    run = run_cli(["local", str(folder / "acc-broken.json"), "-p", "out=somewhere"], env)
    assert run.returncode == 64  # the job itself can't import its module either
    assert "'acc_tasks_gone'" in run.stderr
    assert "every parameter is masked" in run.stderr
