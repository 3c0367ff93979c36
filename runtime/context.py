"""What a running task receives: its logger, progress, job, scratch directory, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import Cancelled
from runtime.job import Job

if TYPE_CHECKING:
    from runtime.wire import Writer


class _Progress(Protocol):
    def update(self, fraction: float, stage: str | None, message: str | None) -> None: ...


class TaskContext:
    """Handed to the task function through the parameter annotated `TaskContext`.

    The task runs in a worker thread of its own process while the main thread waits for
    SIGTERM, SIGINT or the deadline, which its supervisor forwards. Cancellation is cooperative
    first (`cancelled`, `check_cancelled()`, `wait()`); `on_cancel` callbacks run when the task
    is stuck in a call that never returns; and a multipart upload the task declared with
    `track_upload` is aborted by the supervisor even if the process is killed.
    """

    def __init__(
        self,
        *,
        job: Job,
        log: Any,
        scratch: Path,
        reporter: _Progress,
        cancel_event: threading.Event,
        deadline: float | None,
        uploads: Writer,
    ) -> None:
        self.job = job
        self.log = log
        self.scratch = scratch
        self._reporter = reporter
        self._cancel = cancel_event
        self._deadline = deadline
        self._uploads = uploads
        self._on_cancel: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def progress(
        self, fraction: float, stage: str | None = None, message: str | None = None
    ) -> None:
        """Report how far the task got, 0..1; cheap enough to call from a GDAL callback."""
        self._reporter.update(fraction, stage, message)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise `Cancelled` once SIGTERM, SIGINT or the deadline has come."""
        if self._cancel.is_set():
            raise Cancelled("the task was cancelled")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True early if the task was cancelled meanwhile."""
        return self._cancel.wait(seconds)

    @property
    def remaining(self) -> float | None:
        """Seconds left before `TASK_TIMEOUT`, or None without a deadline."""
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` if the task is cancelled; returns a function that unregisters it."""
        with self._lock:
            self._on_cancel.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._on_cancel:
                    self._on_cancel.remove(callback)

        return remove

    def track_upload(self, bucket: str, key: str, upload_id: str) -> Callable[[], None]:
        """Declare an S3 multipart upload the task just created; call the returned function
        once it is completed or aborted. Until then, the supervisor aborts it if the task's
        process dies, so no incomplete upload outlives a killed job."""
        self._uploads.upload_started(bucket, key, upload_id)
        return lambda: self._uploads.upload_done(upload_id)

    def _run_cancel_callbacks(self) -> None:
        with self._lock:
            callbacks, self._on_cancel = self._on_cancel[::-1], []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                self.log.exception("task.cancel_callback_failed", callback=repr(callback))
