"""The Papertrail sink's lines and settings: RFC 5424 framing, size limits, verified TLS.

Delivery in volume is judged against rsyslog (test_sinks_rsyslog.py); these use the Python
receivers, which keep each packet as it came.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import base_env, run_cli
from tests.fixtures.syslog import BUDGET, Receiver, SyslogLine, records, sink_for
from tests.test_sinks_cloudwatch import stdout_lines


def test_plain_tcp_with_severity_from_the_level(tcp_syslog: Receiver) -> None:
    run = run_cli(["fail", "--kind", "input"], base_env(PAPERTRAIL_URL=tcp_syslog.url))
    assert run.returncode == 65
    tcp_syslog.wait_for(lambda packets: len(packets) == len(stdout_lines(run.stdout)))
    lines = tcp_syslog.lines()
    assert [line.message for line in lines] == stdout_lines(run.stdout)
    assert [(json.loads(line.message)["event"], line.pri) for line in lines] == [
        ("task.started", 14),
        ("task.failed", 11),
    ]


def test_udp_packets_stay_within_one_kilobyte(udp_syslog: Receiver) -> None:
    sink = sink_for(udp_syslog.url)
    sent = records(300, size=2000)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0
    udp_syslog.wait_for(lambda packets: len(packets) == 300)
    assert max(len(packet) for packet in udp_syslog.packets) <= 1024
    events = [json.loads(line.message) for line in udp_syslog.lines()]
    assert all(e["truncated_from_bytes"] > 2000 for e in events)
    assert [json.loads(e["head"].split(', "payload"')[0] + "}")["n"] for e in events] == list(
        range(300)
    )


def test_tcp_lines_stay_within_100_kb(tcp_syslog: Receiver) -> None:
    sink = sink_for(tcp_syslog.url)
    for record in records(3, size=150_000):
        sink.emit(record)
    assert sink.close(BUDGET) == 0
    assert len(tcp_syslog.packets) == 3
    assert all(99_000 < len(packet) + 1 <= 100_000 for packet in tcp_syslog.packets)
    cut = [json.loads(SyslogLine.parse(p).message) for p in tcp_syslog.packets]
    assert [event["truncated_from_bytes"] > 150_000 for event in cut] == [True] * 3


def test_host_and_port_alone_mean_tls(tls_syslog: Receiver, tls_ca: tuple[Any, Path]) -> None:
    sink = sink_for(f"127.0.0.1:{tls_syslog.port}", tls_ca[1], task="chatty", job="7e57:2")
    sent = records(3)
    for record in sent:
        sink.emit(record)
    assert sink.close(BUDGET) == 0, sink.error
    first = tls_syslog.lines()[0]
    assert (first.pri, first.hostname, first.app) == (14, "7e57:2", "chatty")
    assert [line.message for line in tls_syslog.lines()] == [r.line for r in sent]


@pytest.mark.parametrize(
    "url", ["ftp://logs.example:1", "tls://logs.example", "tcp://:514", "udp://h:port", "h:1/x"]
)
def test_bad_url_is_a_usage_error(url: str) -> None:
    run = run_cli(["typed", "--name", "x"], base_env(PAPERTRAIL_URL=url))
    assert run.returncode == 64
    assert "PAPERTRAIL_URL" in run.one("task.failed")["error"]
    assert not run.named("task.started")


def test_untrusted_certificate_is_refused_and_counted(tls_syslog: Receiver) -> None:
    sink = sink_for(tls_syslog.url)
    for record in records(5):
        sink.emit(record)
    assert sink.close(1.0) == 5
    assert "CERTIFICATE_VERIFY_FAILED" in (sink.error or "")
    assert tls_syslog.packets == []


def test_untrusted_certificate_is_reported_by_the_run(tls_syslog: Receiver) -> None:
    run = run_cli(["typed", "--name", "x"], base_env(PAPERTRAIL_URL=tls_syslog.url))
    assert run.returncode == 0
    report = run.one("log.events_dropped")
    assert report["dropped"] == {"papertrail": len(stdout_lines(run.stdout)) - 1}
    assert "CERTIFICATE_VERIFY_FAILED" in report["errors"]["papertrail"]
    assert tls_syslog.packets == []
