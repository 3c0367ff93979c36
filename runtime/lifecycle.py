"""One run of one task, start to exit code, in two processes.

    parse parameters --(a problem)--> task.failed 64 -> final progress event -> exit
          |
        fork --------------------------------------------> the task's process (runtime/child.py)
          |                                                 waits for "go", runs the task,
    sinks, progress, task.started, "go"                     sends logs, progress, uploads and
          |                                                 its outcome through the wire
    supervise (runtime/supervisor.py): forward lines          |
    to stdout and the sinks; SIGTERM, SIGINT, deadline  <-----+  dies of a signal, or exits
    -> forward, grace, SIGKILL
          |
    outcome -> abort open uploads -> task.succeeded or task.failed -> final progress event
    -> flush every sink (5 s in all) -> exit code

The process that runs the task's code is not the one that owns the sinks, the progress
reporter and the exit code: when the kernel's out-of-memory killer or a crash inside GDAL ends
the task's process, no code of that process runs, so only one that outlives it can still
write the job's last word. The fork comes after the parameters parse and before any thread
starts, so the task's process begins with the parsed parameters and no lock held.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from runtime import child, logs, params, progress, sinks, uploads
from runtime.errors import OutputError, TaskError, UsageError
from runtime.job import Job
from runtime.masking import Redactor
from runtime.outcome import Outcome
from runtime.registry import Task
from runtime.supervisor import Stops, Supervisor, Watch, Watcher

GRACE_SECONDS = 3.0
EXIT_BUDGET_SECONDS = 5.0
SECRET_ENV = ("PROGRESS_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class _Reporting:
    """The supervisor's side of a run: its log pipeline, sinks and progress reporter."""

    def __init__(self, task: Task, job: Job, environ: Mapping[str, str], redactor: Redactor):
        self.error: TaskError | None = None
        try:
            log_sinks = sinks.from_env(environ, task=task.name, job=job)
            progress_endpoint = progress.endpoint_from_env(environ, job)
        except TaskError as exc:
            log_sinks, progress_endpoint, self.error = [], None, exc
        console = logs.is_console(environ, sys.stdout)
        self.output = logs.Output(sys.stdout, log_sinks, console=console)
        self.pipeline = logs.LogPipeline(
            task=task.name,
            job_keys=job.log_keys(),
            end=self.output,
            level=_log_level(environ),
            console=console,
            redactor=redactor,
        )
        self.log = self.pipeline.get_logger("runtime")
        self.reporter = progress.reporter(
            task=task.name,
            job=job,
            log=self.log,
            endpoint=progress_endpoint,
            redact=redactor,
            record=environ.get("BATCH_TASK_PROGRESS_LOG") or None,
        )
        if self.reporter.bar is not None:
            self.output.around = self.reporter.bar.writing

    def finish(self, outcome: Outcome, started: float) -> int:
        duration = round(time.monotonic() - started, 3)
        if outcome.succeeded:
            self.log.info("task.succeeded", result=outcome.result, duration_seconds=duration)
            self.reporter.succeeded(outcome.result)
        else:
            extra = {"signal": outcome.signal, "exception": outcome.exception}
            self.log.error(
                "task.failed",
                error_type=outcome.error_type,
                error=outcome.error,
                exit_code=int(outcome.exit_code),
                retryable=outcome.retryable,
                duration_seconds=duration,
                **{k: v for k, v in extra.items() if v is not None},
            )
            self.reporter.failed(
                outcome.error_type or "",
                outcome.error or "",
                int(outcome.exit_code),
                outcome.retryable,
            )
        _close_within(EXIT_BUDGET_SECONDS, self.reporter.close, self.pipeline.close)
        return int(outcome.exit_code)


def run(
    task: Task, argv: Sequence[str], environ: Mapping[str, str], watchers: Sequence[Watcher] = ()
) -> int:
    """Run the task to its exit code; each watcher runs on a thread of the supervisor's while
    the task runs (runtime.supervisor.Watch)."""
    stops = Stops()
    job = Job.from_env(environ)
    redactor = Redactor()
    for name in SECRET_ENV:
        redactor.add(environ.get(name, ""))
    started = time.monotonic()
    try:
        timeout = _timeout(environ)
        kwargs = params.parse(task.params, argv, array_index=job.array_index)
        scratch = _scratch_dir(environ, task.name)
    except TaskError as exc:
        reporting = _Reporting(task, job, environ, redactor)
        return reporting.finish(Outcome.of_exception(reporting.error or exc), started)
    for p in task.params:
        if p.secret and kwargs.get(p.name):
            redactor.add(str(kwargs[p.name]))

    sys.stdout.flush()
    sys.stderr.flush()
    pipes = child.Pipes()
    pid = os.fork()
    if pid == 0:
        child.run(
            task,
            kwargs,
            job=job,
            pipes=pipes,
            scratch=scratch,
            environ=environ,
            redactor=redactor,
            level=_log_level(environ),
            deadline=None if timeout is None else time.monotonic() + timeout,
            grace=GRACE_SECONDS,
        )
    pipes.parent_side()
    try:
        reporting = _Reporting(task, job, environ, redactor)
        if reporting.error is not None:
            os.close(pipes.go[1])
            os.waitpid(pid, 0)
            return reporting.finish(Outcome.of_exception(reporting.error), started)
        reporting.log.info("task.started", params=params.masked(task.params, kwargs))
        reporting.reporter.starting()
        os.write(pipes.go[1], b"1")
        os.close(pipes.go[1])
        supervisor = Supervisor(
            pid,
            (pipes.wire[0], pipes.stdout[0], pipes.stderr[0]),
            pipeline=reporting.pipeline,
            output=reporting.output,
            reporter=reporting.reporter,
            stops=stops,
            timeout=timeout,
            grace=GRACE_SECONDS,
        )
        watch = Watch(stops, reporting.log, reporting.reporter.snapshot)
        for watcher in watchers:
            threading.Thread(target=watcher, args=(watch,), name="watcher", daemon=True).start()
        outcome = supervisor.run()
        watch.done.set()
        if not outcome.succeeded:
            uploads.abort_open(supervisor.uploads, reporting.log)
        return reporting.finish(outcome, started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _close_within(budget: float, *closers: Callable[[float], None]) -> None:
    """Run the closers side by side: a hanging progress endpoint must not eat the logs' time."""
    deadline = time.monotonic() + budget
    threads = [threading.Thread(target=close, args=(budget,), daemon=True) for close in closers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _scratch_dir(environ: Mapping[str, str], name: str) -> Path:
    base = environ.get("SCRATCH_DIR") or None
    try:
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"batch-task-{name}-", dir=base))
    except OSError as exc:
        raise OutputError(f"SCRATCH_DIR {base!r} can't be used: {exc}") from exc


def _timeout(environ: Mapping[str, str]) -> float | None:
    raw = environ.get("TASK_TIMEOUT", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UsageError(f"TASK_TIMEOUT={raw!r} is not a positive number of seconds")
    return value


def _log_level(environ: Mapping[str, str]) -> str:
    level = environ.get("LOG_LEVEL", "info").strip().lower() or "info"
    return level if level in logs.LEVELS else "info"
