"""Sinks that are down, failing or stuck never block the task, change its exit, or lose stdout.

Each test times the run: the whole flush must fit the 5-second exit budget, and whatever a
sink could not deliver is counted in one final `log.events_dropped` event.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from runtime.lifecycle import EXIT_BUDGET_SECONDS, GRACE_SECONDS
from tests.conftest import (
    Run,
    base_env,
    free_port,
    parse_events,
    run_cli,
    signal_and_collect,
    start_cli,
    wait_for_event,
)
from tests.fixtures.faults import FaultProxy
from tests.fixtures.syslog import Receiver
from tests.test_sinks_cloudwatch import group_name, log_events, stdout_lines

EXIT_BUDGET = EXIT_BUDGET_SECONDS


def timed_run(args: list[str], env: dict[str, str]) -> tuple[Run, float]:
    """Run the CLI; also return the time from its outcome event on stdout to its exit."""
    proc = start_cli(args, env)
    assert proc.stdout is not None
    lines = []
    while line := proc.stdout.readline():
        lines.append(line)
        if '"event": "task.succeeded"' in line or '"event": "task.failed"' in line:
            break
    ended = time.monotonic()
    out, err = proc.communicate(timeout=30)
    stdout = "".join(lines) + out
    return Run(proc.returncode, stdout, err, parse_events(stdout)), time.monotonic() - ended


def test_cloudwatch_unreachable(aws_env: dict[str, str]) -> None:
    env = base_env(
        **{**aws_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"},
        CLOUDWATCH_LOG_GROUP=group_name(),
    )
    run, elapsed = timed_run(["chatty", "--count", "500"], env)
    assert run.returncode == 0
    assert len(run.named("chatty.line")) == 500
    report = run.one("log.events_dropped")
    assert report == run.events[-1]
    assert report["dropped"] == {"cloudwatch": 502}
    assert "Could not connect" in report["errors"]["cloudwatch"]
    assert elapsed < EXIT_BUDGET + 1
    assert "Traceback" not in run.stderr


def test_cloudwatch_throttling_and_5xx_are_ridden_out(
    aws_env: dict[str, str], fault_proxy: FaultProxy
) -> None:
    group = group_name()
    fault_proxy.fail_next("throttle", "unavailable", "internal", "throttle")
    env = base_env(
        **{**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url},
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="flaky",
    )
    run = run_cli(["chatty", "--count", "2000"], env)
    assert run.returncode == 0, run.stderr
    assert not run.named("log.events_dropped")
    assert fault_proxy.served == ["throttle", "unavailable", "internal", "throttle"]
    messages = [e["message"] for e in log_events(group, "chatty/flaky/1")]
    assert messages == stdout_lines(run.stdout)


def test_papertrail_absent_keeps_the_exit_code() -> None:
    env = base_env(PAPERTRAIL_URL=f"tcp://127.0.0.1:{free_port()}")
    run, elapsed = timed_run(["fail", "--kind", "input"], env)
    assert run.returncode == 65
    assert run.one("task.failed")["exit_code"] == 65
    assert run.one("log.events_dropped")["dropped"] == {"papertrail": 2}
    assert elapsed < EXIT_BUDGET + 1


def test_receiver_that_never_reads(silent_syslog: Receiver) -> None:
    env = base_env(PAPERTRAIL_URL=silent_syslog.url)
    run, elapsed = timed_run(["chatty", "--count", "20000", "--size", "500"], env)
    assert run.returncode == 0
    assert len(run.named("chatty.line")) == 20000
    dropped = run.one("log.events_dropped")["dropped"]["papertrail"]
    assert 0 < dropped <= 20002
    assert elapsed < EXIT_BUDGET + 1
    assert silent_syslog.connections >= 1


def test_tls_handshake_that_never_completes(tcp_syslog: Receiver, tls_ca: tuple[Any, Path]) -> None:
    url = tcp_syslog.url.replace("tcp://", "tls://")
    env = base_env(PAPERTRAIL_URL=url, SSL_CERT_FILE=str(tls_ca[1]))
    run, elapsed = timed_run(["typed", "--name", "x"], env)
    assert run.returncode == 0
    assert run.one("log.events_dropped")["dropped"] == {"papertrail": 3}
    assert elapsed < EXIT_BUDGET + 1


def test_sigterm_flushes_both_sinks(
    aws_env: dict[str, str], tls_syslog: Receiver, tls_ca: tuple[Any, Path]
) -> None:
    group = group_name()
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="term",
        PAPERTRAIL_URL=tls_syslog.url,
        SSL_CERT_FILE=str(tls_ca[1]),
    )
    proc = start_cli(["block", "--seconds", "60"], env)
    before = wait_for_event(proc, "block.sleeping")
    signalled = time.monotonic()
    run = signal_and_collect(proc, signal.SIGTERM, before)
    assert run.returncode == 143
    assert time.monotonic() - signalled < GRACE_SECONDS + EXIT_BUDGET
    assert not run.named("log.events_dropped")
    expected = stdout_lines(run.stdout)
    assert [e["message"] for e in log_events(group, "block/term/1")] == expected
    assert [line.message for line in tls_syslog.lines()] == expected
    assert run.events[-1]["event"] == "task.failed"


def test_timeout_flushes_the_failure(aws_env: dict[str, str]) -> None:
    group = group_name()
    env = base_env(
        **aws_env, CLOUDWATCH_LOG_GROUP=group, AWS_BATCH_JOB_ID="late", TASK_TIMEOUT="0.5"
    )
    run = run_cli(["block", "--seconds", "60"], env)
    assert run.returncode == 124
    messages = [e["message"] for e in log_events(group, "block/late/1")]
    assert messages == stdout_lines(run.stdout)
    assert '"exit_code": 124' in messages[-1]
