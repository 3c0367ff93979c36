"""The layout promises a reader relies on: which side imports which, and how big a module gets."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import ROOT, base_env

MAX_LINES = 300
LAPTOP_SIDE = ("runtime.ops", "runtime.simulator", "runtime.workflow", "runtime.board")


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules("runtime"), ids=lambda p: str(p.relative_to(ROOT)))
def test_runtime_never_imports_the_built_in_tasks(path: Path) -> None:
    assert not {n for n in imported(path) if n == "tasks" or n.startswith("tasks.")}


@pytest.mark.parametrize(
    "path",
    [p for p in modules("runtime") if p.parent == ROOT / "runtime" or p.parent.name in ("sinks",)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_what_runs_in_the_image_does_not_import_the_laptop_side(path: Path) -> None:
    """runtime/'s top level, sinks and progress run inside the image; the CLI reaches the
    laptop side's commands by name only, when they run."""
    laptop = {n for n in imported(path) if n.startswith(LAPTOP_SIDE)}
    assert not laptop


@pytest.mark.parametrize(
    "path", modules("runtime") + modules("tasks"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_module_is_over_300_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def test_built_ins_register_through_the_projects_entry_points() -> None:
    declared = {ep.name: ep.value for ep in entry_points(group="batch_task.tasks")}
    assert {"echo", "export", "ingest"} <= set(declared)
    assert all(value.startswith("tasks.") for value in declared.values())

    env = base_env()
    env.pop("TASK_MODULES")
    listed = subprocess.run(
        [sys.executable, "-m", "runtime", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    names = {t["name"] for t in json.loads(listed.stdout)}
    assert {"echo", "export", "ingest"} <= names
