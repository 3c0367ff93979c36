"""In a real terminal (tmux), log lines and the progress bar never write through each other.

stdout and stderr are one terminal here, as for a developer running a task by hand: every log
line must start at column 0 with its timestamp, and the bar stays below them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, base_env, require_installed

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@pytest.fixture(autouse=True)
def _tmux() -> None:
    require_installed("/usr/bin/tmux", "tmux")


def test_log_lines_start_at_column_0_above_the_bar(tmp_path: Path) -> None:
    session = f"bt-{uuid.uuid4().hex[:8]}"
    env = base_env()
    env.pop("LOG_FORMAT")
    script = tmp_path / "run.sh"
    script.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        + f"{shlex.quote(sys.executable)} -m runtime echo --steps 6 --delay 0.3\n"
        + 'echo "EXIT=$?"\nsleep 30\n'
    )
    tmux = ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", str(ROOT)]
    subprocess.run([*tmux, "bash", str(script)], check=True)
    try:
        screen = _wait_for(session, "EXIT=")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)

    lines = [line for line in screen.splitlines() if line.strip()]
    logged = [line for line in lines if "task." in line or " echo " in line]
    assert any("task.started" in line for line in logged), screen
    assert any("task.succeeded" in line for line in logged), screen
    for line in logged:
        assert TIMESTAMP.match(line), f"a log line does not start with its timestamp:\n{screen}"
    assert any(line.startswith("echo: 100%|") for line in lines), screen
    assert lines[-1] == "EXIT=0", screen


def _wait_for(session: str, text: str, timeout: float = 30) -> str:
    end = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < end:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session, "-S", "-100"],
            capture_output=True,
            text=True,
        ).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never showed:\n{screen}")
