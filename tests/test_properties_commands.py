"""Properties of every command's argument parsing, through the real CLI as a subprocess.

For random command lines built from each command's own words, hostile values (devices, FIFOs,
directories, binary and oversized files, URIs that name nothing, non-UTF-8 bytes) and random
text, with AWS at a closed local port, every outcome is a documented exit code (70, a bug,
fails the property), a message without a traceback, within 30 s and 1 GiB of address space.

A small number of examples per command keeps the file under a minute; HYPOTHESIS_PROFILE=
thorough (test_properties.py) searches longer. A command added to batch-task is added to
WORDS; until a command's module exists, the CLI answers 64 for it, which the property allows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bounded_cli import (
    DOCUMENTED,
    Outcome,
    assert_clean,
    closed_port_env,
    limited_command,
    run_bounded,
)
from tests.conftest import ROOT, free_port

ROLE = "arn:aws:iam::123456789012:role/scheduler"
WORDS: dict[str, list[str]] = {
    "list": ["--json"],
    "describe": ["typed", "echo", "ingest", "nope", "--json"],
    "run": ["typed", "echo", "--name", "--count", "--flag", "--params", "--manifest", "x"],
    "doctor": ["--json"],
    "local": [
        *("{JOBDEF}", "-p", "name=x", "count=2", "--array-size", "2", "--image", "--json"),
        *("{FIFO}", "{BIG}"),
    ],
    "submit": [
        *("{JOBDEF}", "--queue", "q", "-p", "name=x", "--array-size", "--manifest"),
        *("--depends-on", "--dry-run", "--name"),
    ],
    "schedule": [
        *("create", "list", "delete", "nightly", "--expression", "rate(1 day)"),
        *("{JOBDEF}", "--queue", "q", "--role-arn", ROLE, "-p", "name=x"),
    ],
    "status": ["job-1", "local-0123", "--json"],
    "logs": ["job-1", "local-0123", "--follow"],
    "workflow": [
        *("validate", "local", "submit", "status", "resume", "run-1"),
        *("{WORKFLOW}", "{FIFO}", "{DIR}", "/dev/zero"),
    ],
    "board": ["--queue", "q", "--local", "--state", "{DIR}", "--port", "--allow-terminate"],
}
# Commands that serve or follow until interrupted: still running after SETTLE seconds, they
# get SIGINT and must then stop cleanly.
LONG_RUNNING = {"board", "logs"}
SETTLE = 3.0
EXAMPLES = {"doctor": 2, "board": 3}
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
HOSTILE: list[str | bytes] = [
    *("", "-", "--", "=", "x=y", "Ref::name", "{", "[", "-1", "0", "99999999999999999999"),
    *("s3://", "s3://b", "s3://bad bucket/k", "file:///dev/zero", "/dev/zero"),
    *("{FIFO}", "@{FIFO}", "{DIR}", "{BINARY}", "{BIG}", "{MISSING}", "a" * 5000),
    *("http://127.0.0.1:9/x", "http://169.254.169.254/", "/vsicurl/x", "http://[::1"),
    b"caf\xe9",
]
token = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The files the `{NAME}` tokens stand for."""
    root = tmp_path_factory.mktemp("hostile")
    os.mkfifo(root / "fifo")
    (root / "binary").write_bytes(bytes(range(256)) * 8)
    (root / "big.json").write_bytes(b" " * (17 * 1024 * 1024))
    (root / "dir").mkdir()
    (root / "home").mkdir()
    jobdef = {
        "jobDefinitionName": "typed-def",
        "type": "container",
        "parameters": {"count": "1"},
        "containerProperties": {
            "image": "batch-task:latest",
            "command": ["typed", "--name", "Ref::name", "--count", "Ref::count"],
        },
    }
    (root / "typed-def.json").write_text(json.dumps(jobdef))
    return {
        "FIFO": str(root / "fifo"),
        "BINARY": str(root / "binary"),
        "BIG": str(root / "big.json"),
        "DIR": str(root / "dir"),
        "MISSING": str(root / "missing.json"),
        "JOBDEF": str(root / "typed-def.json"),
        "WORKFLOW": str(root / "binary"),
        "HOME": str(root / "home"),
    }


def expand(args: list[str | bytes], places: dict[str, str]) -> list[str | bytes]:
    out: list[str | bytes] = []
    for arg in args:
        if isinstance(arg, str):
            for name, path in places.items():
                arg = arg.replace("{" + name + "}", path)
        out.append(arg)
    return out


def run_interruptible(args: list[str | bytes], env: dict[str, str]) -> Outcome:
    """Run a serving command; if it is still up after SETTLE seconds, interrupt it."""
    proc = subprocess.Popen(
        limited_command(args),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=SETTLE)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    return Outcome(
        args, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


@pytest.fixture(scope="module")
def env(places: dict[str, str]) -> Iterator[dict[str, str]]:
    home = places["HOME"]
    yield closed_port_env(BATCH_TASK_HOME=home, WORKFLOW_STATE=f"{home}/runs")


@pytest.mark.parametrize("command", sorted(WORDS))
def test_every_command_answers_with_a_documented_exit_code(
    command: str, places: dict[str, str], env: dict[str, str]
) -> None:
    words = st.sampled_from(WORDS[command])

    @settings(
        max_examples=EXAMPLES.get(command, 4) * SCALE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(rest=st.lists(st.one_of(words, words, token), max_size=6))
    def check(rest: list[str | bytes]) -> None:
        args = expand([command, *rest], places)
        if command == "board":
            args += ["--port", str(free_port())]
        if command in LONG_RUNNING:
            outcome = run_interruptible(args, env)
            assert_clean(outcome, *DOCUMENTED, 130)
        else:
            outcome = run_bounded(args, env)
            assert_clean(outcome)
        if outcome.returncode not in (0, 130):
            assert outcome.output.strip(), f"a failure without a message: {outcome.explain()}"

    check()
