"""The progress bar a developer sees at a terminal, and its absence everywhere else."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

from tests.conftest import ROOT, base_env
from tests.fixtures.progress_http import ProgressServer

PROBE = """
import json, sys
from runtime.cli import main
code = main(["echo", "--steps", "3"])
loaded = [name for name in ("tqdm", "boto3") if name in sys.modules]
print(json.dumps({"exit": code, "loaded": loaded}))
"""


def test_a_terminal_gets_a_bar_with_stage_and_eta_on_stderr() -> None:
    """stdout and stderr are two terminals, as under `docker run -it`, kept apart to read."""
    terminals = [pty.openpty(), pty.openpty()]
    for _, secondary in terminals:
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime", "echo", "--steps", "4", "--delay", "0.5"],
        env=base_env(),
        stdin=subprocess.DEVNULL,
        stdout=terminals[0][1],
        stderr=terminals[1][1],
        cwd=ROOT,
    )
    shown: list[list[bytes]] = [[], []]
    readers = []
    for (primary, secondary), into in zip(terminals, shown, strict=True):
        os.close(secondary)
        readers.append(threading.Thread(target=_drain, args=(primary, into), daemon=True))
        readers[-1].start()
    proc.wait(timeout=30)
    for reader, (primary, _) in zip(readers, terminals, strict=True):
        reader.join(5)
        os.close(primary)
    stdout, stderr = (b"".join(chunks).decode() for chunks in shown)

    assert proc.returncode == 0, stdout + stderr
    frames = [f.strip() for f in stderr.replace("\n", "\r").split("\r") if f.strip()]
    assert any(f.startswith("echo:  50%|") for f in frames), frames
    assert frames[-1].startswith("echo: 100%|"), frames
    assert "SUCCEEDED" in frames[-1]
    assert any("<" in f and "step 2 of 4" in f for f in frames), frames
    assert "task.succeeded" in stdout and "%|" not in stdout


def test_no_bar_and_no_tqdm_or_boto3_when_stdout_is_not_a_terminal(
    progress_http: ProgressServer,
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=base_env(PROGRESS_URL=progress_http.url),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )

    probe = json.loads(proc.stdout.splitlines()[-1])
    assert probe == {"exit": 0, "loaded": []}
    assert "%|" not in proc.stderr
    assert progress_http.accepted()[-1]["status"] == "SUCCEEDED"


def _drain(fd: int, into: list[bytes]) -> None:
    """Read the terminal's output so that the child never blocks writing its logs."""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        into.append(chunk)
