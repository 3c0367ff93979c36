"""The Papertrail sink against real syslog receivers: TLS (verified), plain TCP and UDP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.job import Job
from runtime.sinks import papertrail
from tests.conftest import base_env, free_port, run_cli, start_cli
from tests.fixtures.syslog import Receiver, SyslogLine
from tests.test_sinks_cloudwatch import stdout_lines


def tls_env(receiver: Receiver, ca: tuple[Any, Path], **extra: str) -> dict[str, str]:
    return base_env(PAPERTRAIL_URL=receiver.url, SSL_CERT_FILE=str(ca[1]), **extra)


def test_every_event_arrives_over_tls_in_order(
    tls_syslog: Receiver, tls_ca: tuple[Any, Path]
) -> None:
    env = tls_env(tls_syslog, tls_ca, AWS_BATCH_JOB_ID="7e57:2")
    env["PAPERTRAIL_URL"] = f"127.0.0.1:{tls_syslog.port}"
    run = run_cli(["chatty", "--count", "20000"], env)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert not run.named("log.events_dropped")
    lines = tls_syslog.lines()
    assert [line.message for line in lines] == stdout_lines(run.stdout)
    first = lines[0]
    assert (first.pri, first.hostname, first.app) == (14, "7e57:2", "chatty")
    assert first.timestamp == json.loads(first.message)["timestamp"]


def test_plain_tcp_with_severity_from_the_level(tcp_syslog: Receiver) -> None:
    run = run_cli(["fail", "--kind", "input"], base_env(PAPERTRAIL_URL=tcp_syslog.url))
    assert run.returncode == 65
    lines = tcp_syslog.lines()
    assert [line.message for line in lines] == stdout_lines(run.stdout)
    assert [(json.loads(line.message)["event"], line.pri) for line in lines] == [
        ("task.started", 14),
        ("task.failed", 11),
    ]


def test_udp_packets_stay_within_one_kilobyte(udp_syslog: Receiver) -> None:
    run = run_cli(
        ["chatty", "--count", "300", "--size", "2000"], base_env(PAPERTRAIL_URL=udp_syslog.url)
    )
    assert run.returncode == 0, run.stderr
    udp_syslog.wait_for(lambda packets: len(packets) == 302)
    assert max(len(packet) for packet in udp_syslog.packets) <= 1024
    events = [json.loads(line.message) for line in udp_syslog.lines()]
    assert [e["event"] for e in events[1:-1]] == ["chatty.line"] * 300
    assert all(e["truncated_from_bytes"] > 2000 for e in events[1:-1])
    assert [json.loads(e["head"] + '"}').get("n") if False else e["head"] for e in events[1:2]]
    assert [int(e["head"].split('"n": ')[1].split(",")[0]) for e in events[1:-1]] == list(
        range(300)
    )
    assert udp_syslog.lines()[-1].message == stdout_lines(run.stdout)[-1]


def test_tcp_lines_stay_within_100_kb(tcp_syslog: Receiver) -> None:
    env = base_env(PAPERTRAIL_URL=tcp_syslog.url)
    run = run_cli(["chatty", "--count", "3", "--size", "150000"], env)
    assert run.returncode == 0, run.stderr
    cut = tcp_syslog.packets[1:4]
    assert all(99_000 < len(packet) + 1 <= 100_000 for packet in cut)
    assert all(json.loads(SyslogLine.parse(p).message)["event"] == "chatty.line" for p in cut)


@pytest.mark.parametrize(
    "url", ["ftp://logs.example:1", "tls://logs.example", "tcp://:514", "udp://h:port", "h:1/x"]
)
def test_bad_url_is_a_usage_error(url: str) -> None:
    run = run_cli(["typed", "--name", "x"], base_env(PAPERTRAIL_URL=url))
    assert run.returncode == 64
    assert "PAPERTRAIL_URL" in run.one("task.failed")["error"]
    assert not run.named("task.started")


def test_untrusted_certificate_is_refused_and_reported(tls_syslog: Receiver) -> None:
    run = run_cli(["typed", "--name", "x"], base_env(PAPERTRAIL_URL=tls_syslog.url))
    assert run.returncode == 0
    report = run.one("log.events_dropped")
    assert report["dropped"] == {"papertrail": len(stdout_lines(run.stdout)) - 1}
    assert "CERTIFICATE_VERIFY_FAILED" in report["errors"]["papertrail"]
    assert tls_syslog.packets == []


def test_receiver_that_starts_late_gets_everything() -> None:
    port = free_port()
    proc = start_cli(
        ["chatty", "--count", "200"], base_env(PAPERTRAIL_URL=f"tcp://127.0.0.1:{port}")
    )
    time.sleep(1.0)
    receiver = Receiver("tcp", port=port)
    try:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert [line.message for line in receiver.lines()] == stdout_lines(out)
    finally:
        receiver.close()


def test_connection_closed_by_the_receiver_is_reopened(tcp_syslog: Receiver) -> None:
    env = {"PAPERTRAIL_URL": tcp_syslog.url}
    sink = papertrail.from_env(env, task="t", job=Job("j"))
    first = [json.dumps({"event": "first", "n": n}) for n in range(10)]
    second = [json.dumps({"event": "second", "n": n}) for n in range(10)]
    for line in first:
        sink.emit(line)
    tcp_syslog.wait_for(lambda packets: len(packets) == 10)
    tcp_syslog.drop_connections()
    time.sleep(0.2)
    for line in second:
        sink.emit(line)
    assert sink.close(5) == 0
    tcp_syslog.wait_for(lambda packets: len(packets) >= 20)
    assert [line.message for line in tcp_syslog.lines()] == first + second
    assert tcp_syslog.connections == 2
