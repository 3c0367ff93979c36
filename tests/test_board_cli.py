"""`batch-task board`'s command line: a port in use is refused at once, bad arguments are 64."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import base_env, free_port, run_cli, start_cli
from tests.fixtures.browser import wait_until_serving


def test_a_port_in_use_is_refused_at_once_with_its_number(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        run = run_cli(["board", "--port", str(port)], base_env(BATCH_TASK_HOME=str(tmp_path)), 30)
    assert run.returncode == 69
    assert f"port {port}" in run.stderr and "--port" in run.stderr
    assert "http://" not in run.stderr  # refused before serving or reading anything


def test_bad_arguments_exit_64_and_name_the_problem(tmp_path: Path) -> None:
    env = base_env(BATCH_TASK_HOME=str(tmp_path))
    for args, words in (
        (["--port", "http"], "'http' is not a port number"),
        (["--port", "70000"], "not a port number"),
        (["--interval", "0"], "seconds"),
        (["--bogus"], "--bogus"),
        (["--queue"], "--queue"),
    ):
        run = run_cli(["board", *args], env, 30)
        assert run.returncode == 64, args
        assert words in run.stderr, (args, run.stderr)


def test_help_names_every_option() -> None:
    run = run_cli(["board", "--help"], base_env(), 30)
    assert run.returncode == 0
    for option in ("--port", "--queue", "--local", "--state", "--allow-terminate", "--interval"):
        assert option in run.stdout


def test_sigterm_stops_the_board_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = start_cli(["board", "--port", str(port)], base_env(BATCH_TASK_HOME=str(tmp_path)))
    wait_until_serving(f"http://127.0.0.1:{port}", proc)
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    again = start_cli(["board", "--port", str(port)], base_env(BATCH_TASK_HOME=str(tmp_path)))
    wait_until_serving(f"http://127.0.0.1:{port}", again)  # the port is free for the next one
    again.terminate()
    again.communicate(timeout=20)
