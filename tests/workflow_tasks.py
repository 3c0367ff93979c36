"""Tasks for the workflow tests, loaded through TASK_MODULES: each leaves a trace of what it
did in files under `out`, so a test counts what actually ran and in which order."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from runtime import InputError, task


def _note(out: str, text: str) -> None:
    """Append one line to out/events.log (O_APPEND: whole lines, whatever runs beside)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(out) / "events.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


@task(name="wf-step")
def wf_step(
    out: str, name: str, value: str = "", fail_unless: str = "", sleep: float = 0.0
) -> dict:
    """Note start and end in out/events.log; fail (65) while `fail_unless` does not exist."""
    _note(out, f"start {name}")
    time.sleep(sleep)
    if fail_unless and not Path(fail_unless).exists():
        _note(out, f"fail {name}")
        raise InputError(f"{fail_unless} does not exist yet")
    (Path(out) / f"{name}.value").write_text(value)
    _note(out, f"end {name}")
    return {"name": name, "value": value}


@task(name="wf-collect")
def wf_collect(out: str, name: str, values: list[str]) -> dict:
    """Write the values it received, in order, to out/{name}.json."""
    _note(out, f"start {name}")
    (Path(out) / f"{name}.json").write_text(json.dumps(values))
    _note(out, f"end {name}")
    return {"count": len(values)}


def write_definitions(folder: Path) -> dict[str, Path]:
    """Job definitions (RegisterJobDefinition JSON) that run the tasks above."""
    folder.mkdir(parents=True, exist_ok=True)
    commands = {
        "wf-step": [
            "--out",
            "Ref::out",
            "--name",
            "Ref::name",
            "--value",
            "Ref::value",
            "--fail-unless",
            "Ref::fail_unless",
            "--sleep",
            "Ref::sleep",
        ],
        "wf-collect": ["--out", "Ref::out", "--name", "Ref::name", "--values", "Ref::values"],
    }
    defaults = {"wf-step": {"value": "", "fail_unless": "", "sleep": "0"}, "wf-collect": {}}
    paths = {}
    for name, args in commands.items():
        document = {
            "jobDefinitionName": name,
            "type": "container",
            "parameters": defaults[name],
            "containerProperties": {
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-task:test",
                "command": [name, *args],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "512"},
                ],
            },
            "retryStrategy": {"attempts": 1},
        }
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(document, indent=1))
    return paths
