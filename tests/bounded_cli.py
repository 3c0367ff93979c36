"""The CLI as a user's hostile input meets it: a subprocess with AWS at a closed local port,
bounded in memory (RLIMIT_AS) and time, whose outcome must be a documented exit code and a
message without a traceback. Shared by test_hostile_input.py and test_properties.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.conftest import ROOT, base_env, parse_events

# Nothing listens on the discard port: every AWS call fails at once with "connection refused".
CLOSED_PORT_AWS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_MAX_ATTEMPTS": "1",
}
# SPEC's exit codes a command may end with; 70 (a bug) is deliberately absent.
DOCUMENTED = frozenset({0, 64, 65, 66, 69, 73, 75, 77})
MEMORY_LIMIT = 1 << 30
TIMEOUT = 30.0

# Set the address-space limit in the child itself, then exec the CLI: preexec_fn is unsafe
# in a test process whose fixtures run server threads.
_LIMIT_AND_EXEC = (
    "import os, resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
    "os.execv(sys.executable, [sys.executable, '-m', 'runtime', *sys.argv[1:]])"
)


@dataclass
class Outcome:
    args: Sequence[str | bytes]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return f"{list(self.args)!r} exited {self.returncode}:\n{self.output[-3000:]}"


def limited_command(args: Sequence[str | bytes]) -> list[str | bytes]:
    """The command line that runs `batch-task ARGS` within MEMORY_LIMIT of address space."""
    return [sys.executable, "-c", _LIMIT_AND_EXEC, *args]


def closed_port_env(**extra: str) -> dict[str, str]:
    return base_env(**CLOSED_PORT_AWS, **extra)


def run_bounded(
    args: Sequence[str | bytes],
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    stdin: bytes = b"",
) -> Outcome:
    """Run `batch-task ARGS`; raises subprocess.TimeoutExpired if it outlives `timeout`."""
    done = subprocess.run(
        limited_command(args),
        env=dict(env or closed_port_env()),
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
    )
    return Outcome(
        args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def assert_clean(outcome: Outcome, *codes: int) -> None:
    """A documented exit code (one of `codes` when given), and no traceback anywhere."""
    allowed = set(codes) or DOCUMENTED
    assert outcome.returncode in allowed, outcome.explain()
    assert "Traceback" not in outcome.output, outcome.explain()


def failure(outcome: Outcome) -> str:
    """What the user is told: the task.failed event of a task run, else stderr."""
    failed = [e for e in parse_events(outcome.stdout) if e.get("event") == "task.failed"]
    return failed[-1]["error"] if failed else outcome.stderr


def refused(args: Sequence[str | bytes], code: int, *phrases: str, **env: str) -> str:
    """Run with AWS at the closed port; expect `code` and a short message with `phrases`."""
    outcome = run_bounded(args, closed_port_env(**env))
    assert_clean(outcome, code)
    message = failure(outcome)
    for phrase in phrases:
        assert phrase in message, outcome.explain()
    assert all(len(line) < 400 for line in message.splitlines()), "a bad input is quoted short"
    return message
