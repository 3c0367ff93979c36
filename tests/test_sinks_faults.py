"""Sinks that are down, failing or stuck never block the task, change its exit, or lose stdout;
whatever they could not deliver is counted, and the run reports it once.

The faults come from the Python receivers (refusing, never reading, never finishing a TLS
handshake, closing or resetting connections) and a proxy in front of moto that throttles.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from runtime.sinks.queue import QueuedSink
from tests.conftest import (
    base_env,
    free_port,
    run_cli,
    signal_and_collect,
    start_cli,
    wait_for_event,
)
from tests.fixtures.faults import FaultProxy
from tests.fixtures.rsyslog import Rsyslog
from tests.fixtures.syslog import BUDGET, Receiver, records, sink_for
from tests.test_sinks_cloudwatch import group_name, log_events, sink_to, stdout_lines


def test_papertrail_refusing_connections_loses_every_event_and_says_why() -> None:
    sink = sink_for(f"tcp://127.0.0.1:{free_port()}")
    for record in records(100):
        sink.emit(record)
    assert sink.close(1.0) == 100
    assert "ConnectionRefusedError" in (sink.error or "")


def test_papertrail_absent_keeps_the_exit_code() -> None:
    env = base_env(PAPERTRAIL_URL=f"tcp://127.0.0.1:{free_port()}")
    run = run_cli(["fail", "--kind", "input"], env)
    assert run.returncode == 65
    assert run.one("task.failed")["exit_code"] == 65
    assert run.one("log.events_dropped")["dropped"] == {"papertrail": 2}


def test_receiver_that_never_reads(silent_syslog: Receiver) -> None:
    sink = sink_for(silent_syslog.url)
    for record in records(20_000, size=500):
        sink.emit(record)
    lost = sink.close(2.0)
    assert 0 < lost <= 20_000
    assert silent_syslog.connections >= 1


def test_a_run_with_a_receiver_that_never_reads(silent_syslog: Receiver) -> None:
    env = base_env(PAPERTRAIL_URL=silent_syslog.url)
    run = run_cli(["chatty", "--count", "20000", "--size", "500"], env)
    assert run.returncode == 0
    assert len(run.named("chatty.line")) == 20_000
    report = run.one("log.events_dropped")
    assert report == run.events[-1]
    assert 0 < report["dropped"]["papertrail"] <= 20_002


def test_a_full_queue_drops_and_counts_instead_of_blocking(silent_syslog: Receiver) -> None:
    transport = sink_for(silent_syslog.url)._transport
    sink = QueuedSink("papertrail", transport, capacity=100)
    for record in records(10_000):
        sink.emit(record)
    assert sink.close(0.5) == 10_000
    assert sink.error


def test_tls_handshake_that_never_completes(tcp_syslog: Receiver, tls_ca: tuple[Any, Path]) -> None:
    sink = sink_for(tcp_syslog.url.replace("tcp://", "tls://"), tls_ca[1])
    for record in records(3):
        sink.emit(record)
    assert sink.close(1.0) == 3
    assert sink.error == "still delivering when the exit budget ran out"


def test_connection_closed_by_the_receiver_is_reopened(tcp_syslog: Receiver) -> None:
    """A server that closes cleanly had read everything: nothing is sent twice."""
    sink = sink_for(tcp_syslog.url)
    first, second = records(10), records(10, start=2e9)
    for record in first:
        sink.emit(record)
    tcp_syslog.wait_for(lambda packets: len(packets) == 10)
    tcp_syslog.drop_connections()
    for record in second:
        sink.emit(record)
    assert sink.close(BUDGET) == 0
    assert [line.message for line in tcp_syslog.lines()] == [r.line for r in first + second]
    assert tcp_syslog.connections == 2


def test_a_connection_reset_by_the_receiver_loses_nothing(
    tls_ca: tuple[Any, Path], resetting_tls_syslog: Receiver
) -> None:
    """What a reset may have thrown away is sent again: every event arrives, in order of first
    arrival; some may arrive twice."""
    sink = sink_for(resetting_tls_syslog.url, tls_ca[1])
    sent = records(10_000, size=200)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0, sink.error
    received = [line.message for line in resetting_tls_syslog.lines()]
    assert list(dict.fromkeys(received)) == [record.line for record in sent]
    assert resetting_tls_syslog.connections > 1


def test_receiver_that_starts_late_gets_everything() -> None:
    port = free_port()
    sink = sink_for(f"tcp://127.0.0.1:{port}")
    sent = records(200)
    for record in sent:
        sink.emit(record)
    receiver = Receiver("tcp", port=port)
    try:
        assert sink.close(BUDGET) == 0
        assert [line.message for line in receiver.lines()] == [r.line for r in sent]
    finally:
        receiver.close()


def test_cloudwatch_unreachable(aws_env: dict[str, str], monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    sink = sink_to(group_name(), "s")
    for record in records(500):
        sink.emit(record)
    assert sink.close(1.0) == 500
    assert "Could not connect" in (sink.error or "")


def test_cloudwatch_throttling_and_5xx_are_ridden_out(
    aws_env: dict[str, str], fault_proxy: FaultProxy, monkeypatch: MonkeyPatch
) -> None:
    group = group_name()
    fault_proxy.fail_next("throttle", "unavailable", "internal", "throttle")
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    sink = sink_to(group, "flaky")
    sent = records(2_000)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0, sink.error
    assert fault_proxy.served == ["throttle", "unavailable", "internal", "throttle"]
    assert [e["message"] for e in log_events(group, "flaky")] == [r.line for r in sent]


def test_sigterm_flushes_both_sinks(
    aws_env: dict[str, str], rsyslog: Rsyslog, tls_ca: tuple[Any, Path]
) -> None:
    group = group_name()
    env = base_env(
        **aws_env,
        CLOUDWATCH_LOG_GROUP=group,
        AWS_BATCH_JOB_ID="term",
        PAPERTRAIL_URL=rsyslog.url("tls"),
        SSL_CERT_FILE=str(tls_ca[1]),
    )
    proc = start_cli(["block", "--seconds", "60"], env)
    before = wait_for_event(proc, "block.sleeping")
    run = signal_and_collect(proc, signal.SIGTERM, before)
    assert run.returncode == 143
    assert not run.named("log.events_dropped")
    expected = stdout_lines(run.stdout)
    assert [e["message"] for e in log_events(group, "block/term/1")] == expected
    assert [line.message for line in rsyslog.wait_for("tls", len(expected))] == expected
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
