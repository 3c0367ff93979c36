"""`batch-task local JOBDEF.json`: run a job definition as AWS Batch would, without AWS.

A developer should learn on a laptop what Batch will do with a definition: which command its
`Ref::` parameters produce, what the job sees in `AWS_BATCH_*`, whether an exit is retried,
what a timeout does, how an array fans out. The job's own output streams through live; the
runner's notes and the final describe-jobs-like summary go to stderr (`--json` adds the
summary as one JSON line on stdout, after the job's own lines). The job is recorded in the
local state (BATCH_TASK_HOME) as it runs, so `status`, `logs` and the board show it live.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from runtime.batch import jobdef
from runtime.errors import ExitCode, UsageError
from runtime.ops.arguments import Parser, add_env, pairs
from runtime.simulator import jobs, launch
from runtime.simulator.output import note
from runtime.simulator.record import Unit
from runtime.timestamps import rfc3339

MAX_ARRAY_SIZE = 10_000
EPILOG = """\
The job's command runs through entrypoint.sh on this machine, with this Python first on PATH
and the job definition's environment over yours; with --image it runs in that image through
podman (or docker) on the host network, with the definition's environment, your AWS
credentials and endpoints, and the runtime's settings (LOG_*, CLOUDWATCH_*, PAPERTRAIL_URL,
PROGRESS_*, TASK_*) from your environment.

The job is recorded under $BATCH_TASK_HOME/jobs/JOB_ID (default ~/.local/state/batch-task) as
it runs: its status, attempts, log events and progress events (each attempt appends them to
the file named by BATCH_TASK_PROGRESS_LOG). `batch-task status JOB_ID` and `batch-task logs
JOB_ID --follow` read it. Secret parameters are masked in what is printed and recorded.

Exit status: 0 when the job SUCCEEDED; otherwise the exit code of the failed job's last
attempt (for an array job, the lowest-index failed child's), or 1 if it has none; 130 or 143
when this command is interrupted (the job's processes get SIGTERM, then SIGKILL after 30 s);
64 for a bad command line or job definition; 69 when entrypoint.sh or podman/docker is missing.
"""


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
    launcher = _launcher(options, definition)
    stop = threading.Event()
    with interrupts(stop) as received:
        job = jobs.submit(
            definition,
            options.params,
            env=options.env,
            array_size=options.array_size,
            launcher=launcher,
        )
        note(f"job {definition.name} {job.job_id}: recorded in {job.state.job_dir(job.job_id)}")
        job.run(stop)
    _print_summary(job)
    if options.as_json:
        print(json.dumps({"jobs": job.describe()}), flush=True)
    if received:
        return 128 + received[0]
    return ExitCode.OK if job.status == "SUCCEEDED" else job.exit_code


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
    add_env(parser, "a variable over the definition's environment, as containerOverrides does")
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


def _print_summary(job: jobs.LocalJob) -> None:
    children = job.children
    kind = f"array job ({len(children)} children)" if children else "job"
    lines = [
        f"{kind} {job.definition.name} {job.job_id}: {job.status} ({job.status_reason})",
        *_attempt_lines(job.main, "  "),
    ]
    for child in children:
        lines.append(f"  child {child.array_index} {child.job_id}: {child.status}")
        lines.extend(_attempt_lines(child, "    "))
    for line in lines:
        note(line)


def _attempt_lines(unit: Unit, indent: str) -> Iterator[str]:
    for number, a in enumerate(unit.attempts, 1):
        yield (
            f"{indent}attempt {number}: exit {a.exit_code}, {rfc3339(a.started_at)} to "
            f"{rfc3339(a.stopped_at)} ({a.stopped_at - a.started_at:.1f} s), {a.status_reason}"
        )


@contextmanager
def interrupts(stop: threading.Event) -> Iterator[list[int]]:
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
