"""`batch-task local JOBDEF.json`: run a job definition as AWS Batch would, without AWS.

A developer should learn on a laptop what Batch will do with a definition: which command its
`Ref::` parameters produce, what the job sees in `AWS_BATCH_*`, whether an exit is retried,
what a timeout does, how an array fans out. The job's own output streams through live; the
runner's notes and the final describe-jobs-like summary go to stderr (`--json` adds the
summary as one JSON line on stdout, after the job's own lines).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime import cgroups
from runtime.errors import ExitCode, UsageError
from runtime.ops import jobdef
from runtime.ops.arguments import Parser, pairs
from runtime.simulator import launch

QUEUE = "local"
COMPUTE_ENVIRONMENT = "local"
MAX_ARRAY_SIZE = 10_000
EPILOG = """\
The job's command runs through entrypoint.sh on this machine, with this Python first on PATH
and the job definition's environment over yours; with --image it runs in that image through
podman (or docker) on the host network, with the definition's environment, your AWS
credentials and endpoints, and the runtime's settings (LOG_*, CLOUDWATCH_*, PAPERTRAIL_URL,
PROGRESS_*, TASK_*) from your environment.

Exit status: 0 when the job SUCCEEDED; otherwise the exit code of the failed job's last
attempt (for an array job, the lowest-index failed child's), or 1 if it has none; 130 or 143
when this command is interrupted (the job's processes get SIGTERM, then SIGKILL after 30 s);
64 for a bad command line or job definition; 69 when entrypoint.sh or podman/docker is missing.
"""


@dataclass
class LocalJob:
    job_id: str
    name: str
    command: list[str]
    array_index: int | None = None
    created_at: float = field(default_factory=time.time)
    attempts: list[launch.Attempt] = field(default_factory=list)
    status: str = "SUBMITTED"
    status_reason: str = ""

    @property
    def exit_code(self) -> int:
        last = self.attempts[-1].exit_code if self.attempts else None
        return 0 if self.status == "SUCCEEDED" else last or 1

    def describe(self, definition: jobdef.JobDefinition, params: dict[str, str]) -> dict[str, Any]:
        """The job as `aws batch describe-jobs` shows it (times in epoch milliseconds)."""
        described: dict[str, Any] = {
            "jobId": self.job_id,
            "jobName": self.name,
            "jobDefinition": definition.name,
            "jobQueue": QUEUE,
            "status": self.status,
            "statusReason": self.status_reason,
            "createdAt": _ms(self.created_at),
            "parameters": {**definition.defaults, **params},
            "container": {
                "command": self.command,
                "exitCode": self.attempts[-1].exit_code if self.attempts else None,
            },
            "attempts": [
                {
                    "container": {"exitCode": a.exit_code, "reason": a.reason},
                    "startedAt": _ms(a.started_at),
                    "stoppedAt": _ms(a.stopped_at),
                    "statusReason": a.status_reason,
                }
                for a in self.attempts
            ],
        }
        if self.attempts:
            described["startedAt"] = _ms(self.attempts[0].started_at)
            described["stoppedAt"] = _ms(self.attempts[-1].stopped_at)
        if self.array_index is not None:
            described["arrayProperties"] = {"index": self.array_index}
        return described


@dataclass
class Options:
    jobdef: str
    params: dict[str, str]
    env: dict[str, str]
    array_size: int | None
    image: str | None
    as_json: bool


def main(args: list[str]) -> int:
    options = _parse(args)
    definition = jobdef.load(options.jobdef)
    command = definition.command_for(options.params)
    launcher = _launcher(options, definition)
    job_id = str(uuid.uuid4())
    if options.array_size is None:
        jobs = [LocalJob(job_id, definition.name, command)]
    else:
        jobs = [
            LocalJob(f"{job_id}:{i}", definition.name, command, array_index=i)
            for i in range(options.array_size)
        ]
    stop = threading.Event()
    with _interrupts(stop) as received:
        workers = min(len(jobs), cgroups.usable_cpus())
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job") as pool:
            futures = [
                pool.submit(_run_job, job, definition, launcher, options.env, stop) for job in jobs
            ]
            while not all(f.done() for f in futures):
                time.sleep(launch.POLL_SECONDS)
            for future in futures:
                future.result()
    children = jobs if options.array_size is not None else []
    parent = _parent(job_id, definition.name, command, children) if children else jobs[0]
    _print_summary(parent, children)
    if options.as_json:
        print(json.dumps({"jobs": _described(parent, children, definition, options)}), flush=True)
    if received:
        return 128 + received[0]
    failed = next((j for j in jobs if j.status != "SUCCEEDED"), None)
    return ExitCode.OK if failed is None else failed.exit_code


def _parse(args: Sequence[str]) -> Options:
    parser = Parser(
        prog="batch-task local",
        description="Run an AWS Batch job definition (RegisterJobDefinition JSON) as Batch would.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("jobdef", metavar="JOBDEF.json", help="the job definition file")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a job parameter, as `submit-job --parameters` (over the definition's defaults)",
    )
    parser.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable over the definition's, as containerOverrides.environment",
    )
    parser.add_argument(
        "--array-size",
        type=int,
        metavar="N",
        help=f"run an array job of N children (2 to {MAX_ARRAY_SIZE}), at most one per CPU",
    )
    parser.add_argument("--image", help="run in this container image instead of on this machine")
    parser.add_argument(
        "--json", action="store_true", help="also print the summary as JSON on stdout"
    )
    ns = parser.parse_args(list(args))
    if ns.array_size is not None and not 2 <= ns.array_size <= MAX_ARRAY_SIZE:
        raise UsageError(
            f"local: --array-size must be from 2 to {MAX_ARRAY_SIZE} (as in AWS Batch), "
            f"got {ns.array_size}; leave it out for a single job"
        )
    return Options(
        jobdef=ns.jobdef,
        params=pairs(ns.parameter, "-p"),
        env=pairs(ns.env, "-e"),
        array_size=ns.array_size,
        image=ns.image,
        as_json=ns.json,
    )


def _launcher(options: Options, definition: jobdef.JobDefinition) -> launch.Launcher:
    if options.image is None:
        return launch.HostLauncher(launch.find_entrypoint())
    return launch.ContainerLauncher(
        launch.find_engine(),
        options.image,
        init=definition.init_process,
        vcpus=definition.vcpus,
        memory_mib=definition.memory_mib,
    )


def _run_job(
    job: LocalJob,
    definition: jobdef.JobDefinition,
    launcher: launch.Launcher,
    overrides: dict[str, str],
    stop: threading.Event,
) -> None:
    """Attempts until one succeeds, a rule says EXIT, the attempts run out, or a timeout."""
    for number in range(1, definition.attempts + 1):
        if stop.is_set():
            break
        env = {**definition.environment, **overrides, **_batch_env(job, number)}
        name = f"batch-task-{job.job_id.replace(':', '-')}-{number}"
        attempt = launch.run_attempt(
            launcher, job.command, env, name, definition.attempt_seconds, stop
        )
        job.attempts.append(attempt)
        if attempt.exit_code == 0:
            job.status, job.status_reason = "SUCCEEDED", attempt.status_reason
            return
        action = definition.action_after(attempt.exit_code, attempt.status_reason, attempt.reason)
        retry = (
            action == "RETRY"
            and number < definition.attempts
            and not attempt.timed_out
            and not stop.is_set()
        )
        _note(
            f"job {job.job_id} attempt {number} exited {attempt.exit_code} "
            f"({attempt.status_reason}): " + ("retrying" if retry else "no retry")
        )
        if not retry:
            break
    job.status = "FAILED"
    job.status_reason = (
        job.attempts[-1].status_reason
        if job.attempts
        else "Cancelled: batch-task local was interrupted before the job started"
    )


def _batch_env(job: LocalJob, attempt: int) -> dict[str, str]:
    env = {
        "AWS_BATCH_JOB_ID": job.job_id,
        "AWS_BATCH_JOB_ATTEMPT": str(attempt),
        "AWS_BATCH_JQ_NAME": QUEUE,
        "AWS_BATCH_CE_NAME": COMPUTE_ENVIRONMENT,
    }
    if job.array_index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_index)
    return env


def _parent(job_id: str, name: str, command: list[str], jobs: list[LocalJob]) -> LocalJob:
    """An array job's parent: SUCCEEDED only when every child did, as in Batch."""
    failed = sum(j.status != "SUCCEEDED" for j in jobs)
    return LocalJob(
        job_id,
        name,
        command,
        created_at=min(j.created_at for j in jobs),
        status="FAILED" if failed else "SUCCEEDED",
        status_reason=(
            f"{failed} of {len(jobs)} child jobs failed"
            if failed
            else f"All {len(jobs)} child jobs succeeded"
        ),
    )


def _described(
    parent: LocalJob,
    children: list[LocalJob],
    definition: jobdef.JobDefinition,
    options: Options,
) -> list[dict[str, Any]]:
    """`describe-jobs` output for the job and, for an array job, each child after its parent."""
    described = [j.describe(definition, options.params) for j in [parent, *children]]
    if children:
        statuses = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED")
        described[0]["arrayProperties"] = {
            "size": len(children),
            "statusSummary": {
                s: sum(j.status == s for j in children) for s in (*statuses, "FAILED")
            },
        }
    return described


def _print_summary(parent: LocalJob, children: list[LocalJob]) -> None:
    kind = f"array job ({len(children)} children)" if children else "job"
    lines = [
        f"{kind} {parent.name} {parent.job_id}: {parent.status} ({parent.status_reason})",
        *_attempt_lines(parent, "  "),
    ]
    for child in children:
        lines.append(f"  child {child.array_index} {child.job_id}: {child.status}")
        lines.extend(_attempt_lines(child, "    "))
    for line in lines:
        _note(line)


def _attempt_lines(job: LocalJob, indent: str) -> Iterator[str]:
    for number, a in enumerate(job.attempts, 1):
        yield (
            f"{indent}attempt {number}: exit {a.exit_code}, {_iso(a.started_at)} to "
            f"{_iso(a.stopped_at)} ({a.stopped_at - a.started_at:.1f} s), {a.status_reason}"
        )


def _note(text: str) -> None:
    print(f"batch-task local: {text}", file=sys.stderr, flush=True)


@contextmanager
def _interrupts(stop: threading.Event) -> Iterator[list[int]]:
    """SIGINT or SIGTERM stops the job as TerminateJob would; yields the signals received."""
    received: list[int] = []

    def handle(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
