"""`batch-task doctor` against receivers on 127.0.0.1: what is set up is checked, the rest off."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import base_env, free_port, run_cli
from tests.fixtures.progress_http import ProgressServer
from tests.fixtures.syslog import Receiver

CHECKS = ("gdal", "scratch", "memory", "cpu", "aws", "s3", "cloudwatch", "papertrail", "progress")
LINE = re.compile(r"^(ok|off|FAIL)\s+(\S+)\s+(.*)$")


def doctor(tmp_path: Path, **env: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run the CLI with a HOME of its own, so no ~/.aws on this machine turns AWS on."""
    run = run_cli(["doctor"], base_env(HOME=str(tmp_path), **env), timeout=60)
    lines = {}
    for line in run.stdout.splitlines():
        match = LINE.match(line)
        assert match, f"not a check line: {line!r}\n{run.stdout}"
        lines[match[2]] = (match[1], match[3])
    assert tuple(lines) == CHECKS, run.stdout
    return run.returncode, lines, run.stderr


def test_nothing_configured_is_off_and_exits_0(tmp_path: Path) -> None:
    code, lines, _ = doctor(tmp_path)
    assert code == 0
    for name in ("gdal", "scratch", "memory", "cpu"):
        assert lines[name][0] == "ok", lines[name]
    for name in ("aws", "s3", "cloudwatch", "papertrail", "progress"):
        assert lines[name][0] == "off", lines[name]
    assert "GTiff and COG" in lines["gdal"][1]
    assert "GiB free" in lines["scratch"][1]


def test_unreachable_papertrail_exits_69_and_names_it(tmp_path: Path) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    code, lines, stderr = doctor(tmp_path, PAPERTRAIL_URL=url)
    assert code == 69
    status, detail = lines["papertrail"]
    assert status == "FAIL" and url in detail and "refused" in detail.lower()
    assert lines["progress"][0] == "off"
    assert "papertrail" in stderr


def test_unreachable_progress_endpoint_exits_69(tmp_path: Path) -> None:
    code, lines, _ = doctor(
        tmp_path, PROGRESS_URL=f"http://127.0.0.1:{free_port()}/hook?key=s3cr3t"
    )
    assert code == 69
    status, detail = lines["progress"]
    assert status == "FAIL" and "s3cr3t" not in detail


def test_cloudwatch_without_aws_is_a_failure(tmp_path: Path) -> None:
    code, lines, _ = doctor(tmp_path, CLOUDWATCH_LOG_GROUP="/batch-task/jobs")
    assert code == 69
    assert lines["cloudwatch"][0] == "FAIL" and "not configured" in lines["cloudwatch"][1]


def test_a_sink_that_hangs_costs_seconds_not_minutes(
    tmp_path: Path, silent_syslog: Receiver
) -> None:
    """A server that accepts TCP but never answers the TLS handshake."""
    started = time.monotonic()
    code, lines, _ = doctor(tmp_path, PAPERTRAIL_URL=f"tls://127.0.0.1:{silent_syslog.port}")
    assert code == 69
    assert lines["papertrail"][0] == "FAIL"
    assert time.monotonic() - started < 10


def test_everything_configured_and_reachable_exits_0(
    tmp_path: Path,
    aws_env: dict[str, str],
    tls_syslog: Receiver,
    tls_ca: tuple[object, Path],
    progress_http: ProgressServer,
) -> None:
    code, lines, _ = doctor(
        tmp_path,
        **aws_env,
        CLOUDWATCH_LOG_GROUP="/batch-task/doctor",
        PAPERTRAIL_URL=tls_syslog.url,
        SSL_CERT_FILE=str(tls_ca[1]),
        PROGRESS_URL=progress_http.url,
        PROGRESS_TOKEN="token-value",
    )
    assert code == 0, lines
    assert all(status == "ok" for status, _ in lines.values()), lines
    assert "TLS handshake ok" in lines["papertrail"][1]
    assert "arn:aws" in lines["aws"][1]


def test_progress_bucket_must_exist(tmp_path: Path, aws_env: dict[str, str], bucket: str) -> None:
    code, lines, _ = doctor(tmp_path, **aws_env, PROGRESS_URL=f"s3://{bucket}/progress")
    assert code == 0 and lines["progress"][0] == "ok", lines
    code, lines, _ = doctor(tmp_path, **aws_env, PROGRESS_URL=f"s3://{bucket}-missing/progress")
    assert code == 69 and lines["progress"][0] == "FAIL", lines


@pytest.mark.parametrize("args", [["--json"], ["extra"]])
def test_doctor_takes_no_arguments(args: list[str]) -> None:
    run = run_cli(["doctor", *args])
    assert run.returncode == 64
    assert "batch-task doctor" in run.stderr
