"""The process that runs the task's code, forked from its supervisor once the parameters parse.

It is the one that may die: of the out-of-memory killer (it volunteers, through
`oom_score_adj`), of a crash inside GDAL, or of SIGKILL at the end of the grace period. So it
owns nothing that must survive it: its log events, progress and multipart uploads go to the
supervisor through the wire as they happen, and its last act is to report the outcome.

Inside, the task runs in a worker thread and the main thread waits: a GDAL call holds the
thread that made it, and Python runs signal handlers on the main thread only. SIGTERM and
SIGINT (forwarded by the supervisor) set the cancellation the task polls; if the task has not
stopped shortly before the supervisor's grace ends, its `on_cancel` callbacks run here.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runtime import logs, wire
from runtime.context import TaskContext
from runtime.job import Job
from runtime.masking import Redactor
from runtime.outcome import Outcome
from runtime.registry import Task

CALLBACK_MARGIN = 0.5
"""Seconds before the supervisor's grace ends that the `on_cancel` callbacks get to run."""
WIRE_BUFFER = 1 << 20
M_MMAP_THRESHOLD = -3
"""glibc's mallopt() parameter number (malloc.h)."""
MMAP_THRESHOLD = 256 * 1024
PROGRESS_INTERVAL = 0.1
"""At most this often a progress value crosses the pipe; the newest one always does."""


class Pipes:
    """The descriptors a task process is born with: the wire, stdout, stderr and the go signal."""

    def __init__(self) -> None:
        self.wire = os.pipe()
        _widen(self.wire[1])
        self.stdout = os.pipe()
        self.stderr = os.pipe()
        self.go = os.pipe()

    def child_side(self) -> None:
        """Keep the write ends (and the go read end) in the child; stdout and stderr become
        the pipes, so that `print` and native code writing to fd 2 reach the supervisor too."""
        for read_end in (self.wire[0], self.stdout[0], self.stderr[0]):
            os.close(read_end)
        os.close(self.go[1])
        os.dup2(self.stdout[1], 1)
        os.dup2(self.stderr[1], 2)
        os.close(self.stdout[1])
        os.close(self.stderr[1])
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115

    def parent_side(self) -> None:
        for write_end in (self.wire[1], self.stdout[1], self.stderr[1]):
            os.close(write_end)
        os.close(self.go[0])


def _widen(fd: int) -> None:
    """Give the wire 1 MiB of buffer instead of 64 KiB: a burst of events then waits in the
    pipe while the supervisor's sink threads hold its GIL, rather than stopping the task."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, WIRE_BUFFER)


class _Progress:
    """The task's `ctx.progress()`: records the newest value; a thread sends it at most every
    PROGRESS_INTERVAL, so a GDAL callback firing thousands of times a second costs a lock."""

    def __init__(self, writer: wire.Writer) -> None:
        self._writer = writer
        self._cond = threading.Condition()
        self._value: tuple[float, str | None, str | None] | None = None
        self._fraction = 0.0
        self._stage: str | None = None
        threading.Thread(target=self._send_all, name="progress-wire", daemon=True).start()

    def update(self, fraction: float, stage: str | None = None, message: str | None = None) -> None:
        with self._cond:
            self._fraction = max(self._fraction, float(fraction))
            self._stage = stage or self._stage
            self._value = (self._fraction, self._stage, message)
            self._cond.notify()

    def flush(self) -> None:
        with self._cond:
            value, self._value = self._value, None
        if value is not None:
            self._writer.progress(*value)

    def _send_all(self) -> None:
        while True:
            with self._cond:
                while self._value is None:
                    self._cond.wait()
            self.flush()
            time.sleep(PROGRESS_INTERVAL)


def run(
    task: Task,
    kwargs: dict[str, Any],
    *,
    job: Job,
    pipes: Pipes,
    scratch: Path,
    environ: Mapping[str, str],
    redactor: Redactor,
    level: str,
    deadline: float | None,
    grace: float,
) -> None:
    """Never returns: the process ends with `os._exit` once the outcome is on the wire."""
    pipes.child_side()
    _volunteer_for_oom_killer()
    _return_large_blocks(environ)
    cancel = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: cancel.set())
    writer = wire.Writer(pipes.wire[1])
    pipeline = logs.LogPipeline(
        task=task.name,
        job_keys=job.log_keys(),
        end=logs.WireOutput(writer),
        level=level,
        redactor=redactor,
    )
    if os.read(pipes.go[0], 1) != b"1":
        os._exit(0)
    progress = _Progress(writer)
    ctx = TaskContext(
        job=job,
        log=pipeline.get_logger(task.func.__module__),
        scratch=scratch,
        reporter=progress,
        cancel_event=cancel,
        deadline=deadline,
        uploads=writer,
    )
    if task.context_arg:
        kwargs = {**kwargs, task.context_arg: ctx}
    outcome = _run_task(task, kwargs, ctx, cancel, grace)
    progress.flush()
    writer.result(
        {
            "exit_code": int(outcome.exit_code),
            "result": outcome.result,
            "error_type": outcome.error_type,
            "error": outcome.error,
            "retryable": outcome.retryable,
            "exception": outcome.exception,
        }
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run_task(
    task: Task, kwargs: dict[str, Any], ctx: TaskContext, cancel: threading.Event, grace: float
) -> Outcome:
    box: dict[str, Outcome] = {}

    def work() -> None:
        try:
            box["outcome"] = Outcome.of_result(task.func(**kwargs))
        except BaseException as exc:
            box["outcome"] = Outcome.of_exception(exc)

    worker = threading.Thread(target=work, name=f"task:{task.name}", daemon=True)
    worker.start()
    while worker.is_alive() and not cancel.is_set():
        worker.join(0.1)
    if worker.is_alive():
        worker.join(max(0.0, grace - CALLBACK_MARGIN))
    if worker.is_alive():
        ctx._run_cancel_callbacks()
        return Outcome.of_exception(TimeoutError("the task did not stop when cancelled"))
    return box["outcome"]


def _return_large_blocks(environ: Mapping[str, str]) -> None:
    """Give every allocation of 256 KiB or more pages of its own, handed back when freed.

    glibc raises this threshold as large blocks are freed (up to 32 MiB), after which GDAL's
    worker threads keep their freed block buffers in per-thread arenas: an ingest of a 512 MB
    raster peaked at 284 MiB with glibc's default and 224 MiB with this. `MALLOC_MMAP_THRESHOLD_`
    set in the job's environment wins.
    """
    if "MALLOC_MMAP_THRESHOLD_" in environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _volunteer_for_oom_killer() -> None:
    """Make this process, not its supervisor, the kernel's choice when memory runs out."""
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
