"""One run of one task, start to exit code.

    parse parameters -> task.started -> task in a worker thread -> outcome -> task.succeeded
    or task.failed -> final progress event -> flush every sink (5 s in all) -> exit code

The task runs in a worker thread so that the main thread stays free: a GDAL call holds the
thread that made it until it returns, and Python only runs signal handlers on the main thread.
The main thread watches for SIGTERM, SIGINT and `TASK_TIMEOUT`; on any of them it cancels the
task, gives it `GRACE_SECONDS` to stop by itself, runs its `on_cancel` callbacks if it did not,
and exits with the code that names the reason, even if the worker never returns.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime import logs, params, progress, sinks
from runtime.context import TaskContext
from runtime.errors import ExitCode, OutputError, TaskError, UsageError, classify
from runtime.job import Job
from runtime.registry import Task

GRACE_SECONDS = 3.0
EXIT_BUDGET_SECONDS = 5.0
POLL_SECONDS = 0.1
SECRET_ENV = ("PROGRESS_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass
class Outcome:
    exit_code: int
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    retryable: bool = False
    exc: BaseException | None = None

    @classmethod
    def of_exception(cls, exc: BaseException) -> Outcome:
        kind = classify(exc)
        if kind is None:
            return cls(
                ExitCode.SOFTWARE,
                error_type=type(exc).__name__,
                error=f"unexpected {type(exc).__name__}: {exc}",
                exc=exc,
            )
        return cls(
            kind.exit_code,
            error_type=kind.__name__,
            error=str(exc),
            retryable=kind.retryable,
            exc=None if isinstance(exc, TaskError) else exc,
        )


_SIGNALS = {
    signal.SIGTERM: (ExitCode.SIGTERM, "Interrupted", "received SIGTERM", True),
    signal.SIGINT: (ExitCode.SIGINT, "Interrupted", "received SIGINT", False),
}


class _Cancellation:
    """Records SIGTERM and SIGINT; the main thread polls it between short waits."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        for signum in _SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signum = self.signum or signum
        self.count += 1

    def outcome(self) -> Outcome | None:
        if self.signum is None:
            return None
        code, kind, message, retryable = _SIGNALS[signal.Signals(self.signum)]
        return Outcome(code, error_type=kind, error=message, retryable=retryable)


def run(task: Task, argv: Sequence[str], environ: Mapping[str, str]) -> int:
    cancellation = _Cancellation()
    job = Job.from_env(environ)
    config_error: TaskError | None = None
    try:
        log_sinks = sinks.from_env(environ, task=task.name, job=job)
        progress_sink = progress.sink_from_env(environ, job)
    except TaskError as exc:
        log_sinks, progress_sink, config_error = [], None, exc
    pipeline = logs.LogPipeline(
        task=task.name,
        job_keys=job.log_keys(),
        sinks=log_sinks,
        level=_log_level(environ),
        console=logs.is_console(environ, sys.stdout),
    )
    for name in SECRET_ENV:
        pipeline.redactor.add(environ.get(name, ""))
    log = pipeline.get_logger("runtime")
    reporter = progress.reporter(
        task=task.name, job=job, log=log, sink=progress_sink, redact=pipeline.redactor
    )
    started = time.monotonic()
    worker: threading.Thread | None = None
    try:
        if config_error is not None:
            raise config_error
        timeout = _timeout(environ)
        kwargs = params.parse(task.params, argv, array_index=job.array_index)
    except TaskError as exc:
        outcome = Outcome.of_exception(exc)
    else:
        for p in task.params:
            if p.secret and kwargs.get(p.name):
                pipeline.redactor.add(str(kwargs[p.name]))
        log.info("task.started", params=params.masked(task.params, kwargs))
        reporter.starting()
        outcome, worker = _supervise(
            task, kwargs, job, pipeline, reporter, cancellation, timeout, environ
        )

    duration = round(time.monotonic() - started, 3)
    if outcome.error_type is None:
        log.info("task.succeeded", result=outcome.result, duration_seconds=duration)
        reporter.succeeded(outcome.result)
    else:
        log.error(
            "task.failed",
            error_type=outcome.error_type,
            error=outcome.error,
            exit_code=int(outcome.exit_code),
            retryable=outcome.retryable,
            duration_seconds=duration,
            exc_info=outcome.exc,
        )
        reporter.failed(
            outcome.error_type, outcome.error or "", int(outcome.exit_code), outcome.retryable
        )
    _close_within(EXIT_BUDGET_SECONDS, reporter.close, pipeline.close)
    if worker is not None and worker.is_alive():
        sys.stdout.flush()
        os._exit(int(outcome.exit_code))
    return int(outcome.exit_code)


def _supervise(
    task: Task,
    kwargs: dict[str, Any],
    job: Job,
    pipeline: logs.LogPipeline,
    reporter: progress.Reporter,
    cancellation: _Cancellation,
    timeout: float | None,
    environ: Mapping[str, str],
) -> tuple[Outcome, threading.Thread | None]:
    try:
        scratch = _scratch_dir(environ, task.name)
    except OSError as exc:
        return Outcome.of_exception(
            OutputError(f"SCRATCH_DIR {environ.get('SCRATCH_DIR')!r} can't be used: {exc}")
        ), None
    deadline = None if timeout is None else time.monotonic() + timeout
    cancel_event = threading.Event()
    ctx = TaskContext(
        job=job,
        log=pipeline.get_logger(task.func.__module__),
        scratch=scratch,
        reporter=reporter,
        cancel_event=cancel_event,
        deadline=deadline,
    )
    if task.context_arg:
        kwargs = {**kwargs, task.context_arg: ctx}
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = task.func(**kwargs)
        except BaseException as exc:
            box["exc"] = exc

    worker = threading.Thread(target=work, name=f"task:{task.name}", daemon=True)
    worker.start()
    try:
        stop = _wait(worker, cancellation, deadline, timeout)
        if stop is not None:
            cancel_event.set()
            pipeline.get_logger().warning(
                "task.cancelling", reason=stop.error, grace_seconds=GRACE_SECONDS
            )
            grace_end = time.monotonic() + GRACE_SECONDS
            while worker.is_alive() and time.monotonic() < grace_end and cancellation.count < 2:
                worker.join(POLL_SECONDS)
            if worker.is_alive():
                ctx._run_cancel_callbacks()
                return stop, worker
            if "exc" in box or "result" not in box:
                return stop, worker
        if "exc" in box:
            return Outcome.of_exception(box["exc"]), worker
        return _checked_result(box.get("result")), worker
    finally:
        if not worker.is_alive():
            shutil.rmtree(scratch, ignore_errors=True)


def _wait(
    worker: threading.Thread,
    cancellation: _Cancellation,
    deadline: float | None,
    timeout: float | None,
) -> Outcome | None:
    """Wait for the worker; return the reason to cancel it, or None once it has finished."""
    while worker.is_alive():
        signalled = cancellation.outcome()
        if signalled is not None:
            return signalled
        if deadline is not None and time.monotonic() >= deadline:
            return Outcome(
                ExitCode.TIMEOUT,
                error_type="Timeout",
                error=f"TASK_TIMEOUT of {timeout:g} s reached",
            )
        worker.join(POLL_SECONDS)
    return None


def _checked_result(result: Any) -> Outcome:
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return Outcome(
            ExitCode.SOFTWARE,
            error_type="ResultNotSerializable",
            error=f"the task returned a value that is not JSON-serialisable: {exc}",
        )
    return Outcome(ExitCode.OK, result=result)


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
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"batch-task-{name}-", dir=base))


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
