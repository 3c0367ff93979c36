"""The Papertrail sink against Debian's rsyslog: every event arrives, once, in order.

rsyslog is the server that showed TLS losing most of a run (FINDINGS "Logs"), so delivery is
judged by what it wrote to its files, not by what the sink believes it sent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.sinks import Record
from tests.conftest import base_env, run_cli
from tests.fixtures.rsyslog import Rsyslog
from tests.fixtures.syslog import BUDGET, records, sink_for
from tests.test_sinks_cloudwatch import stdout_lines


@pytest.mark.parametrize("kind", ["tls", "tcp"])
def test_20000_events_arrive_once_in_order(
    rsyslog: Rsyslog, tls_ca: tuple[Any, Path], kind: str
) -> None:
    sink = sink_for(rsyslog.url(kind), tls_ca[1], task="chatty", job="7e57:2")
    sent = records(20_000, size=100)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0, sink.error
    received = rsyslog.wait_for(kind, len(sent))
    assert [line.message for line in received] == [record.line for record in sent]
    assert {(line.hostname, line.app) for line in received} == {("7e57:2", "chatty")}


def test_events_emitted_while_delivering_all_arrive(
    rsyslog: Rsyslog, tls_ca: tuple[Any, Path]
) -> None:
    """A run that logs in bursts over several batches and connection rotations."""
    sink = sink_for(rsyslog.url("tls"), tls_ca[1])
    sent = records(12_000, size=300)
    for n, record in enumerate(sent):
        sink.emit(record)
        if n % 3_000 == 0:
            time.sleep(0.3)
    assert sink.close(BUDGET) == 0, sink.error
    received = rsyslog.wait_for("tls", len(sent))
    assert [line.message for line in received] == [record.line for record in sent]


def test_severity_and_time_come_from_the_record(rsyslog: Rsyslog, tls_ca: tuple[Any, Path]) -> None:
    """The line is never parsed: a line that is not even JSON keeps its record's facts."""
    sink = sink_for(rsyslog.url("tls"), tls_ca[1])
    when = 1_764_460_800.25  # 2025-11-30T00:00:00.250Z
    sink.emit(Record("not json: level info", when, "error"))
    sink.emit(Record('{"level": "error", "timestamp": "x"}', when + 1.002, "debug"))
    sink.emit(Record("{}", when, "warning"))
    assert sink.close(BUDGET) == 0, sink.error
    lines = rsyslog.wait_for("tls", 3)
    assert [(line.pri, line.timestamp) for line in lines] == [
        (11, "2025-11-30T00:00:00.250Z"),
        (15, "2025-11-30T00:00:01.252Z"),
        (12, "2025-11-30T00:00:00.250Z"),
    ]
    assert [line.message for line in lines] == [
        "not json: level info",
        '{"level": "error", "timestamp": "x"}',
        "{}",
    ]


def test_udp_is_best_effort(rsyslog: Rsyslog) -> None:
    """UDP loses packets even on one machine (1,027 to 2,002 of 2,002 measured) and nothing
    comes back to tell: what arrives is in order and whole, and no loss is claimed."""
    sink = sink_for(rsyslog.url("udp"))
    sent = records(500)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0
    received = [line.message for line in rsyslog.wait_for("udp", len(sent))]
    assert received
    lines = [record.line for record in sent]
    positions = [lines.index(message) for message in received]
    assert positions == sorted(set(positions))


def test_a_run_of_20000_events_reaches_rsyslog_over_tls(
    rsyslog: Rsyslog, tls_ca: tuple[Any, Path]
) -> None:
    """Through the CLI: what stdout shows is what rsyslog wrote, every line, in order."""
    env = base_env(
        PAPERTRAIL_URL=f"127.0.0.1:{rsyslog.ports['tls']}",
        SSL_CERT_FILE=str(tls_ca[1]),
        AWS_BATCH_JOB_ID="cli-run",
    )
    run = run_cli(["chatty", "--count", "20000"], env)
    assert run.returncode == 0, run.stderr
    assert not run.named("log.events_dropped")
    expected = stdout_lines(run.stdout)
    assert len(expected) == 20_002
    received = rsyslog.wait_for("tls", len(expected))
    assert [line.message for line in received] == expected
    assert {(line.hostname, line.app) for line in received} == {("cli-run", "chatty")}


def test_each_header_shows_its_lines_time_and_level(
    rsyslog: Rsyslog, tls_ca: tuple[Any, Path]
) -> None:
    env = base_env(PAPERTRAIL_URL=rsyslog.url("tls"), SSL_CERT_FILE=str(tls_ca[1]))
    run = run_cli(["chatty", "--count", "500"], env)
    assert run.returncode == 0, run.stderr
    received = rsyslog.wait_for("tls", len(stdout_lines(run.stdout)))
    events = [json.loads(line.message) for line in received]
    assert [line.timestamp for line in received] == [event["timestamp"] for event in events]
    assert {line.pri for line in received} == {14}
