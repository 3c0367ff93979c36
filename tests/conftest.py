"""Fixtures shared by the suite: the real CLI as a subprocess, and moto's server for AWS.

Every server listens on 127.0.0.1 and is started here; nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RASTERS = ROOT / "tests" / "data"
FIXTURE_TASKS = "tests.fixture_tasks"
pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (ROOT / "tests" / "fixtures").glob("[!_]*.py")
)


def require_installed(path: str | Path, *packages: str) -> None:
    """A test's real server or browser is missing: fail, naming what installs it (.ci/packages)."""
    if not Path(path).exists():
        pytest.fail(
            f"{path} is missing: install the Debian packages {' '.join(packages)} "
            f"(`sudo apt-get install -y {' '.join(packages)}`; `make test` does it as root)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Run:
    """A finished CLI run: exit code, raw streams, and stdout's JSON events."""

    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    def one(self, event: str) -> dict[str, Any]:
        found = self.named(event)
        assert len(found) == 1, f"expected one {event!r}, got {len(found)}:\n{self.stdout}"
        return found[0]


SCRATCH_HOME = tempfile.mkdtemp(prefix="batch-task-tests-home-")
"""BATCH_TASK_HOME for runs that set none: no test writes to the user's ~/.local/state."""


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: no AWS_BATCH_* or sink variables leak in from the machine."""
    keep = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONPATH=str(ROOT),
        TASK_MODULES=FIXTURE_TASKS,
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
        BATCH_TASK_HOME=SCRATCH_HOME,
    )
    env.update(extra)
    return env


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """The JSON log events among stdout's lines (other output, such as `describe`, is skipped)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"')]


def start_cli(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runtime", *args],
        env=dict(env or base_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def run_cli(args: list[str], env: Mapping[str, str] | None = None, timeout: float = 120) -> Run:
    proc = start_cli(args, env)
    out, err = proc.communicate(timeout=timeout)
    return Run(proc.returncode, out, err, parse_events(out))


def wait_for_event(proc: subprocess.Popen[str], event: str, timeout: float = 30) -> list[str]:
    """Read stdout lines until `event` appears; return the lines read so far."""
    assert proc.stdout is not None
    lines: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("{") and json.loads(line).get("event") == event:
            return lines
    raise AssertionError(f"{event!r} never appeared:\n{''.join(lines)}")


def signal_and_collect(
    proc: subprocess.Popen[str], signum: int, before: list[str], timeout: float = 30
) -> Run:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=timeout)
    stdout = "".join(before) + out
    return Run(proc.returncode, stdout, err, parse_events(stdout))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's real HTTP server for S3, CloudWatch Logs, Batch and EventBridge."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing boto3 (in this process and in CLI subprocesses) at moto."""
    values = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def s3(aws_env: dict[str, str]) -> Any:
    import boto3

    return boto3.client("s3")


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test (names must be valid AWS names, 3 to 63 characters)."""
    name = f"test-{abs(hash(request.node.nodeid)) % 10**12:012d}-{time.monotonic_ns() % 10**6}"
    s3.create_bucket(Bucket=name)
    return name


def batch_queue(name: str) -> str:
    """A job queue of that name in moto's Batch, made once (its jobs never run: moto has no
    Docker here); returns the name."""
    import boto3

    batch = boto3.client("batch")
    if batch.describe_job_queues(jobQueues=[name])["jobQueues"]:
        return name
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    ce = batch.create_compute_environment(
        computeEnvironmentName=f"{name}-ce", type="UNMANAGED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}],
    )
    return name


__all__ = [
    "RASTERS",
    "Run",
    "base_env",
    "batch_queue",
    "run_cli",
    "signal",
    "start_cli",
    "wait_for_event",
]
