"""`workflow validate|local|status|resume` as a user runs them: real processes, real jobs.

The fixture tasks (tests/workflow_tasks.py) write what they did to out/events.log, so each
test counts what actually ran and in which order, not what the runner says it did.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import Run, base_env, run_cli, start_cli
from tests.workflow_tasks import write_definitions


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(
        TASK_MODULES="tests.workflow_tasks",
        BATCH_TASK_HOME=str(tmp_path / "home"),
        WORKFLOW_STATE=str(tmp_path / "runs"),
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_definitions(tmp_path / "defs")
    return tmp_path


def flow(folder: Path, text: str) -> str:
    path = folder / "flow.yaml"
    path.write_text(text)
    return str(path)


def events(folder: Path) -> list[str]:
    log = folder / "out" / "events.log"
    return log.read_text().splitlines() if log.exists() else []


def manifest(folder: Path, items: list[dict[str, str]]) -> str:
    path = folder / "items.json"
    path.write_text(json.dumps(items))
    return str(path)


def record(folder: Path, result: Run) -> dict:
    run_id = result.stdout.splitlines()[-1]
    return json.loads((folder / "runs" / run_id / "run.json").read_text())


CHAIN = """\
name: chain
inputs:
  out: {}
  gate: {default: ""}
nodes:
  b:
    job_definition: defs/wf-step.json
    depends_on: [a]
    params: {out: "{inputs.out}", name: b}
  a:
    job_definition: defs/wf-step.json
    params: {out: "{inputs.out}", name: a, fail_unless: "{inputs.gate}"}
  c:
    job_definition: defs/wf-step.json
    depends_on: [b]
    params: {out: "{inputs.out}", name: c}
"""


def test_a_node_starts_only_after_its_dependency_succeeded(folder: Path, env: dict) -> None:
    result = run_cli(["workflow", "local", flow(folder, CHAIN), "-p", f"out={folder}/out"], env)
    assert result.returncode == 0, result.stderr
    assert events(folder) == ["start a", "end a", "start b", "end b", "start c", "end c"]
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("chain-")
    assert [line.split()[:2] for line in lines[-4:-1]] == [
        ["b", "SUCCEEDED"],
        ["a", "SUCCEEDED"],
        ["c", "SUCCEEDED"],
    ]
    run = record(folder, result)
    assert set(run) == {"run_id", "workflow", "inputs", "created_at", "nodes", "barriers"}
    assert run["inputs"] == {"out": f"{folder}/out", "gate": ""}
    assert run["nodes"]["b"]["depends_on"] == ["a"]
    assert set(run["nodes"]["b"]) == {
        "job_id",
        "array_size",
        "depends_on",
        "status",
        "status_reason",
        "children",
    }


def test_a_failure_stops_everything_downstream(folder: Path, env: dict) -> None:
    gate = f"gate={folder}/missing"
    result = run_cli(
        ["workflow", "local", flow(folder, CHAIN), "-p", f"out={folder}/out", "-p", gate], env
    )
    assert result.returncode == 65  # a's own exit code (InputError), though b comes first
    assert events(folder) == ["start a", "fail a"]
    nodes = record(folder, result)["nodes"]
    assert nodes["a"]["status"] == "FAILED"
    assert nodes["b"]["status"] == "FAILED"
    assert (
        "'a'" in nodes["b"]["status_reason"] and nodes["a"]["job_id"] in nodes["b"]["status_reason"]
    )
    assert "'b'" in nodes["c"]["status_reason"]
    status = run_cli(["workflow", "status", result.stdout.splitlines()[-1]], env)
    assert "c  FAILED  (Dependency failed: node 'b'" in status.stdout


FAN = """\
name: fan
inputs:
  out: {}
  items: {}
nodes:
  each:
    job_definition: defs/wf-step.json
    foreach: "{inputs.items}"
    params:
      out: "{inputs.out}"
      name: "each-{item.id}"
      value: "v{item.id}"
      fail_unless: "{item.gate}"
  pair:
    job_definition: defs/wf-step.json
    foreach: "{inputs.items}"
    depends_on: [each]
    params: {out: "{inputs.out}", name: "pair-{item.id}", value: "{nodes.each.params.value}"}
  all:
    job_definition: defs/wf-collect.json
    depends_on: [pair]
    params: {out: "{inputs.out}", name: all, values: "{nodes.each.params.value}"}
"""


def items(folder: Path, n: int, failing: int | None = None) -> list[dict[str, str]]:
    return [
        {"id": str(i), "gate": str(folder / f"gate-{i}") if i == failing else ""} for i in range(n)
    ]


def test_fan_out_and_fan_in_in_item_order(folder: Path, env: dict) -> None:
    path = manifest(folder, items(folder, 5))
    args = fan_args(folder, path)
    result = run_cli([*args, "--parallel", "2"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads((folder / "out" / "all.json").read_text()) == [f"v{i}" for i in range(5)]
    # each pair child got the whole list too (a foreach node's param is every child's value)
    assert (folder / "out" / "pair-3.value").read_text() == json.dumps(
        [f"v{i}" for i in range(5)], separators=(",", ":")
    )
    ran = events(folder)
    assert ran.index("start all") > max(ran.index(f"end pair-{i}") for i in range(5))
    node = record(folder, result)["nodes"]["each"]
    assert node["array_size"] == 5 and node["children"] == {"SUCCEEDED": 5}


def fan_args(folder: Path, manifest_path: str) -> list[str]:
    """`workflow local` of the FAN flow over the manifest at `manifest_path`."""
    inputs = ["-p", f"out={folder}/out", "-p", f"items={manifest_path}"]
    return ["workflow", "local", flow(folder, FAN), *inputs]


def test_n_to_n_skips_only_the_child_whose_partner_failed(folder: Path, env: dict) -> None:
    path = manifest(folder, items(folder, 3, failing=1))
    args = fan_args(folder, path)
    result = run_cli(args, env)
    assert result.returncode == 65
    ran = events(folder)
    assert "fail each-1" in ran
    assert {"end pair-0", "end pair-2"} <= set(ran)
    assert "start pair-1" not in ran and "start all" not in ran
    nodes = record(folder, result)["nodes"]
    assert nodes["pair"]["children"] == {"SUCCEEDED": 2, "FAILED": 1}
    child = json.loads(
        (
            Path(env["BATCH_TASK_HOME"]) / "jobs" / f"{nodes['pair']['job_id']}:1" / "job.json"
        ).read_text()
    )
    assert "node 'each' child 1" in child["statusReason"] and child["attempts"] == []


def test_resume_reruns_only_the_failed_child_and_what_depends_on_it(
    folder: Path, env: dict
) -> None:
    path = manifest(folder, items(folder, 3, failing=1))
    args = fan_args(folder, path)
    first = run_cli(args, env)
    assert first.returncode == 65
    run_id = first.stdout.splitlines()[-1]
    (folder / "gate-1").touch()
    (folder / "out" / "events.log").unlink()
    resumed = run_cli(["workflow", "resume", run_id], env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1] == run_id
    assert sorted(events(folder)) == sorted(
        ["start each-1", "end each-1", "start pair-1", "end pair-1", "start all", "end all"]
    )
    assert json.loads((folder / "out" / "all.json").read_text()) == ["v0", "v1", "v2"]
    nodes = record(folder, resumed)["nodes"]
    assert nodes["each"]["status"] == "SUCCEEDED"
    assert nodes["each"]["children"] == {"SUCCEEDED": 3}
    assert nodes["pair"]["children"] == {"SUCCEEDED": 3}
    again = run_cli(["workflow", "resume", run_id], env)
    assert again.returncode == 0 and "nothing to resume" in again.stdout


BROKEN = """\
name: broken
inputs:
  out: {}
  needed: {}
nodes:
  a:
    job_definition: defs/wf-step.json
    depends_on: [ghost]
    params: {out: "{inputs.out}", name: "{inputs.nope}", nmae: x}
  b:
    job_definition: defs/wf-step.json
    depends_on: [c]
    foreach: "{inputs.out}/no-such-manifest.json"
    params: {out: "{inputs.out}", name: "{item.id}"}
  c:
    job_definition: defs/wf-step.json
    depends_on: [b]
    params: {out: "{inputs.out}", name: "{whatever}"}
"""


def test_validate_reports_every_problem_at_once(folder: Path, env: dict) -> None:
    path = flow(folder, BROKEN)
    result = run_cli(["workflow", "validate", path, "-p", f"out={folder}", "-p", "extra=1"], env)
    assert result.returncode == 64
    for expected in (
        "unknown node 'ghost'",
        "cycle: b -> c -> b",
        "input 'needed' is required",
        "-p extra: the workflow has no input 'extra'",
    ):
        assert expected in result.stderr, expected
    assert not (folder / "out").exists()


def test_validate_reports_templates_manifests_and_parameters(folder: Path, env: dict) -> None:
    text = BROKEN.replace("    depends_on: [ghost]\n", "").replace("    depends_on: [b]\n", "")
    path = flow(folder, text)
    result = run_cli(["workflow", "validate", path, "-p", f"out={folder}", "-p", "needed=1"], env)
    assert result.returncode == 64
    for expected in (
        "template {inputs.nope} names no input",
        "no-such-manifest.json' can't be read",
        "template {whatever} names nothing",
        "parameter 'nmae' is not used by job definition 'wf-step'",
        "did you mean 'name'",
    ):
        assert expected in result.stderr, expected
    local = run_cli(["workflow", "local", path, "-p", f"out={folder}", "-p", "needed=1"], env)
    assert local.returncode == 64 and not (folder / "home").exists()


def test_validate_checks_every_item_with_the_task_parser(folder: Path, env: dict) -> None:
    text = FAN.replace('name: "each-{item.id}"', 'name: "each-{item.id}"\n      extra: "{item.id}"')
    path = manifest(folder, items(folder, 2))
    result = run_cli(
        ["workflow", "validate", flow(folder, text), "-p", f"out={folder}", "-p", f"items={path}"],
        env,
    )
    assert result.returncode == 64
    assert "node 'each' item 0" in result.stderr and "node 'each' item 1" in result.stderr


def test_a_node_can_override_the_definition_attempts(folder: Path, env: dict) -> None:
    text = CHAIN.replace(
        '    params: {out: "{inputs.out}", name: a,',
        '    attempts: 2\n    params: {out: "{inputs.out}", name: a,',
    )
    gate = f"gate={folder}/missing"
    result = run_cli(
        ["workflow", "local", flow(folder, text), "-p", f"out={folder}/out", "-p", gate], env
    )
    assert result.returncode == 65
    assert events(folder) == ["start a", "fail a", "start a", "fail a"]


def test_an_interrupted_run_stops_its_jobs_and_runs_nothing_more(folder: Path, env: dict) -> None:
    text = CHAIN.replace("name: a, fail_unless", "name: a, sleep: 60, fail_unless")
    proc = start_cli(["workflow", "local", flow(folder, text), "-p", f"out={folder}/out"], env)
    for _ in range(300):
        if events(folder):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert events(folder) == ["start a"]
    run_id = out.splitlines()[-1]
    nodes = json.loads((folder / "runs" / run_id / "run.json").read_text())["nodes"]
    assert [nodes[n]["status"] for n in ("a", "b", "c")] == ["FAILED"] * 3
    assert "interrupted" in nodes["b"]["status_reason"]


PAIR = """\
name: pair
inputs: {out: {}}
nodes:
  a:
    job_definition: defs/wf-step.json
    params: {out: "{inputs.out}", name: a, sleep: 5}
  b:
    job_definition: defs/wf-step.json
    params: {out: "{inputs.out}", name: b, sleep: 5}
"""


@pytest.mark.parametrize(("parallel", "overlap"), [("2", True), ("1", False)])
def test_independent_nodes_run_side_by_side_up_to_parallel(
    folder: Path, env: dict, parallel: str, overlap: bool
) -> None:
    args = ["workflow", "local", flow(folder, PAIR), "-p", f"out={folder}/out"]
    result = run_cli([*args, "--parallel", parallel], env)
    assert result.returncode == 0, result.stderr
    ran = events(folder)
    first_end = min(i for i, line in enumerate(ran) if line.startswith("end"))
    starts_before_first_end = sum(line.startswith("start") for line in ran[:first_end])
    assert starts_before_first_end == (2 if overlap else 1), ran
    status = run_cli(["workflow", "status", result.stdout.splitlines()[-1], "--json"], env)
    assert json.loads(status.stdout)["nodes"]["b"]["status"] == "SUCCEEDED"
